// One call to plugback's D-Bus API from its own process, for tests that need a caller other than the test
// (another process, or another user): node api-call.mjs ADDRESS INTERFACE MEMBER SIGNATURE ARGS_JSON
// Prints one JSON line: {"ok":true,"body":[...]} or {"ok":false,"error":"<D-Bus error name>","text":"..."}.
// In ARGS_JSON, {"$variant": ["s", "idle"]} stands for a variant.
import dbus from 'dbus-next';

const [address, iface, member, signature, argsJson] = process.argv.slice(2);
const bus = dbus.sessionBus({ busAddress: address });
bus.on('error', () => undefined);
const plainValue = (value) => (typeof value === 'bigint' ? Number(value) : value instanceof dbus.Variant ? plainValue(value.value) : Array.isArray(value) ? value.map(plainValue) : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainValue(v)])) : value);
try {
  const reply = await bus.call(
    new dbus.Message({ destination: 'io.github.plugback.Daemon1', path: '/io/github/plugback/Daemon1', interface: iface, member, signature, body: JSON.parse(argsJson || '[]', (_, v) => (v && v.$variant ? new dbus.Variant(v.$variant[0], v.$variant[1]) : v)) }),
  );
  process.stdout.write(`${JSON.stringify({ ok: true, body: plainValue(reply?.body ?? []) })}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ ok: false, error: error.type, text: error.text ?? String(error) })}\n`);
}
bus.disconnect();
