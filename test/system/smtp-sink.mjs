#!/usr/bin/env node
// The guest's mail server for the failure-mail scenarios: a real SMTP server (smtp-server, the one the integration
// tests use) on 127.0.0.1, plain SMTP, no login, that parses each mail (mailparser) and appends it as one JSON line
// to the log: { at, from, to, subject, text, attachments }.
//
//   node smtp-sink.mjs --modules /opt/plugback/node_modules [--port 2525] [--log /run/smtp-sink.jsonl]
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const modules = opt('--modules', '/opt/plugback/node_modules');
const port = Number(opt('--port', '2525'));
const logFile = opt('--log', '/run/smtp-sink.jsonl');

// The project's own dev dependencies, from the copy of node_modules in the guest.
const require = createRequire(join(modules, 'noop.js'));
const { SMTPServer } = require('smtp-server');
const { simpleParser } = require('mailparser');

// Flushed before the 250 reply, as a real mail server does: a mail the client was told is delivered is in the log,
// also when the guest loses power right after (the power-cut test).
function appendDurably(file, text) {
  const fd = openSync(file, 'a', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const server = new SMTPServer({
  disabledCommands: ['STARTTLS', 'AUTH'],
  authOptional: true,
  logger: false,
  onData(stream, session, callback) {
    simpleParser(stream)
      .then((mail) => {
        appendDurably(logFile, `${JSON.stringify({
          at: Date.now(),
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          subject: mail.subject ?? '',
          text: mail.text ?? '',
          attachments: (mail.attachments ?? []).map((a) => a.filename),
        })}\n`);
        callback();
      })
      .catch((error) => callback(error));
  },
});
server.listen(port, '127.0.0.1', () => console.log(`smtp-sink: listening on 127.0.0.1:${port}, mail log ${logFile}`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
