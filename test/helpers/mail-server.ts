// A real SMTP server for tests (smtp-server) on 127.0.0.1 that parses each mail it accepts with mailparser.
// It can require a login, and can be stopped and started again on the same port to play a server that is down.
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  mail: ParsedMail;
  /** The envelope: who it was sent to and from, as the server saw it. */
  from: string;
  to: string[];
  /** The user that logged in, if any. */
  user?: string | undefined;
}

export class MailServer {
  readonly received: ReceivedMail[] = [];
  /** Login attempts, with the password as the server got it. */
  readonly logins: { user: string; password: string }[] = [];
  private server: SMTPServer | undefined;

  private constructor(
    readonly port: number,
    private readonly login?: { user: string; password: string },
  ) {}

  /** A server on a free port; not listening until start(). */
  static async onFreePort(login?: { user: string; password: string }): Promise<MailServer> {
    return new MailServer(await freePort(), login);
  }

  async start(): Promise<void> {
    const login = this.login;
    this.server = new SMTPServer({
      // Plain SMTP on loopback: the config under test says security: none.
      disabledCommands: login ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
      authOptional: !login,
      allowInsecureAuth: true,
      logger: false,
      onAuth: (auth, _session, callback) => {
        this.logins.push({ user: auth.username ?? '', password: auth.password ?? '' });
        if (login && auth.username === login.user && auth.password === login.password) callback(null, { user: auth.username });
        else callback(new Error('Invalid username or password'));
      },
      onData: (stream, session, callback) => {
        simpleParser(stream)
          .then((mail) => {
            this.received.push({
              mail,
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
              user: typeof session.user === 'string' ? session.user : undefined,
            });
            callback();
          })
          .catch((error: Error) => callback(error));
      },
    });
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Waits until `count` mails have arrived; fails after `timeoutMs` naming what did arrive. */
  async waitFor(count: number, timeoutMs = 20_000): Promise<ReceivedMail[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > deadline) {
        throw new Error(`expected ${count} mails, got ${this.received.length}: ${this.received.map((r) => r.mail.subject).join(' | ')}`);
      }
      await sleep(20);
    }
    return this.received;
  }
}

/** A TCP port that nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}
