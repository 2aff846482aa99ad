// Asking for a secret on the terminal without showing it. The terminal is put in raw mode before the prompt is
// written, so nothing typed after the prompt appears can be echoed or lost; Ctrl-C and Ctrl-D end the question.
import { readFile } from 'node:fs/promises';

/** One line typed on the terminal, not echoed; rejects on Ctrl-C, or on Ctrl-D before anything was typed. */
export function askHidden(prompt: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string> {
  return new Promise((resolve, reject) => {
    const wasRaw = input.isRaw;
    input.setRawMode(true);
    input.setEncoding('utf8');
    output.write(prompt);
    let text = '';
    const finish = (end: () => void) => {
      input.off('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      end();
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish(() => resolve(text));
        if (ch === '\u0003') return finish(() => reject(new Error('stopped (Ctrl-C) at the passphrase')));
        if (ch === '\u0004' && text === '') return finish(() => reject(new Error('no passphrase given (Ctrl-D)')));
        if (ch === '\u007f' || ch === '\b') text = [...text].slice(0, -1).join('');
        else if (ch >= ' ') text += ch;
      }
    };
    input.on('data', onData);
    input.resume();
  });
}

/** A new passphrase, typed twice; throws when the two differ or it is empty. */
export async function askNewPassphrase(what: string): Promise<string> {
  const first = await askHidden(`New passphrase for ${what}: `);
  if (first === '') throw new Error('an empty passphrase was given');
  const again = await askHidden('The same passphrase again: ');
  if (again !== first) throw new Error('the two passphrases differ');
  return first;
}

/** The passphrase in a file: its text with one trailing newline dropped (as `echo` writes it); not empty. */
export async function passphraseFromFile(file: string): Promise<string> {
  const text = (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
  if (text === '') throw new Error(`${file} holds no passphrase`);
  return text;
}
