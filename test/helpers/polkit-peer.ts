// A stand-in for polkitd on a private bus: org.freedesktop.PolicyKit1.Authority.CheckAuthorization with the real
// signature, (sa{sv})sa{ss}us → (bba{ss}), answering from a table of allowed action ids and recording each question.
import dbus, { Message } from 'dbus-next';

export interface PolkitQuestion {
  subjectKind: string;
  busName: string;
  action: string;
  flags: number;
}

export interface PolkitPeer {
  /** The actions to allow from now on; all others are denied. */
  allow(actions: string[]): void;
  questions: PolkitQuestion[];
  stop(): void;
}

export async function startPolkitPeer(address: string): Promise<PolkitPeer> {
  const bus = dbus.sessionBus({ busAddress: address });
  bus.on('error', () => undefined);
  let allowed = new Set<string>();
  const questions: PolkitQuestion[] = [];
  bus.addMethodHandler((msg: Message) => {
    if (msg.path !== '/org/freedesktop/PolicyKit1/Authority' || msg.member !== 'CheckAuthorization') return false;
    const [subject, action, , flags] = msg.body as [[string, Record<string, { value: unknown }>], string, Record<string, string>, number, string];
    questions.push({ subjectKind: subject[0], busName: String(subject[1].name?.value), action, flags });
    bus.send(Message.newMethodReturn(msg, '(bba{ss})', [[allowed.has(action), false, {}]]));
    return true;
  });
  const reply = await bus.requestName('org.freedesktop.PolicyKit1', dbus.NameFlag.DO_NOT_QUEUE);
  if (reply !== dbus.RequestNameReply.PRIMARY_OWNER) throw new Error('could not own org.freedesktop.PolicyKit1 on the test bus');
  return {
    allow: (actions) => {
      allowed = new Set(actions);
    },
    questions,
    stop: () => bus.disconnect(),
  };
}
