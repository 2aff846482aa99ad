#!/usr/bin/env node
// A BlinkStick for the guest, made with the kernel's uhid driver: plain Node, no dependencies.
//
//   node blinkstick-uhid.mjs [--serial BS000001-3.1] [--log /run/blinkstick-colours.log]
//
// Opens /dev/uhid (run `modprobe uhid` first), creates a HID device on bus USB with vendor 0x20a0 and product 0x41e5,
// the serial in `uniq` (hidraw reports it as the serial number) and the firmware's report descriptor: feature reports
// 1 (R,G,B), 2 and 3 (32-byte info blocks), 4 (mode), 5 (channel, index, R, G, B) and 6..9 (LED frames of channel +
// GRB x 8/16/32/64). It answers UHID_GET_REPORT and UHID_SET_REPORT as the firmware does (report 1 reads back the last
// colour set) and appends one line per colour write to the log: `<ms since epoch> <report id> r,g,b[;r,g,b...]`.
// Prints "blinkstick-uhid: ready" once the kernel has started the device. SIGTERM/SIGINT destroy it.
import { openSync, writeSync, read, appendFileSync, closeSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const serial = opt('--serial', 'BS000001-3.1');
const logFile = opt('--log', '/run/blinkstick-colours.log');

// linux/uhid.h: enum uhid_event_type
const UHID_DESTROY = 1, UHID_START = 2, UHID_GET_REPORT = 9, UHID_GET_REPORT_REPLY = 10, UHID_CREATE2 = 11,
  UHID_SET_REPORT = 13, UHID_SET_REPORT_REPLY = 14;
const UHID_FEATURE_REPORT = 0;
const BUS_USB = 0x03;
const EVENT_SIZE = 4 + 4372; // sizeof(struct uhid_event): type + the largest member, uhid_create2_req

// The BlinkStick firmware's descriptor (arvydas/blinkstick-firmware main.cpp): every report a FEATURE report.
const feature = (id, count) => [
  0x85, id,
  ...(count > 255 ? [0x96, count & 0xff, count >> 8] : [0x95, count]),
  0x09, 0x00, 0xb2, 0x02, 0x01,
];
const DESCRIPTOR = Buffer.from([
  0x06, 0x00, 0xff, 0x09, 0x01, 0xa1, 0x01, 0x15, 0x00, 0x26, 0xff, 0x00, 0x75, 0x08,
  ...feature(1, 3), ...feature(2, 32), ...feature(3, 32), ...feature(4, 1), ...feature(5, 5),
  ...feature(6, 25), ...feature(7, 49), ...feature(8, 97), ...feature(9, 193),
  0xc0,
]);
const REPORT_LENGTH = { 1: 3, 2: 32, 3: 32, 4: 1, 5: 5, 6: 25, 7: 49, 8: 97, 9: 193 };

// Firmware state: report contents by id (without the id byte). Report 1 is the colour of LED 0.
const reports = new Map(Object.entries(REPORT_LENGTH).map(([id, n]) => [Number(id), Buffer.alloc(n)]));

const fd = openSync('/dev/uhid', 'r+');

function send(event) {
  writeSync(fd, event, 0, event.length);
}

function create() {
  const ev = Buffer.alloc(EVENT_SIZE);
  ev.writeUInt32LE(UHID_CREATE2, 0);
  ev.write('Agile Innovative Ltd BlinkStick', 4, 127, 'utf8'); // name[128]
  ev.write('plugback-system-test/uhid0', 132, 63, 'utf8'); // phys[64]
  ev.write(serial, 196, 63, 'utf8'); // uniq[64]
  ev.writeUInt16LE(DESCRIPTOR.length, 260); // rd_size
  ev.writeUInt16LE(BUS_USB, 262); // bus
  ev.writeUInt32LE(0x20a0, 264); // vendor
  ev.writeUInt32LE(0x41e5, 268); // product
  ev.writeUInt32LE(0x0100, 272); // version
  ev.writeUInt32LE(0, 276); // country
  DESCRIPTOR.copy(ev, 280); // rd_data
  send(ev);
}

function logColours(id, data) {
  let text;
  if (id === 1) text = `${data[0]},${data[1]},${data[2]}`;
  else if (id === 5) text = `ch${data[0]} #${data[1]} ${data[2]},${data[3]},${data[4]}`;
  else if (id >= 6 && id <= 9) {
    const leds = [];
    for (let i = 1; i + 2 < data.length; i += 3) leds.push(`${data[i + 1]},${data[i]},${data[i + 2]}`); // GRB on the wire
    text = `ch${data[0]} ${leds.join(';')}`;
  } else text = [...data].join(',');
  appendFileSync(logFile, `${Date.now()} ${id} ${text}\n`);
}

function onSetReport(ev) {
  const id = ev.readUInt32LE(4);
  const rnum = ev[8];
  const rtype = ev[9];
  const size = ev.readUInt16LE(10);
  let data = ev.subarray(12, 12 + size);
  // hidraw passes the report id as byte 0 of a numbered report.
  if (data[0] === rnum) data = data.subarray(1);
  let err = 0;
  const stored = reports.get(rnum);
  if (rtype !== UHID_FEATURE_REPORT || !stored) err = 32; // EPIPE, as a stalled control transfer
  else {
    stored.fill(0);
    data.copy(stored, 0, 0, Math.min(data.length, stored.length));
    if (rnum === 1 || rnum === 5 || rnum >= 6) logColours(rnum, stored);
    if (rnum === 5 && stored[0] === 0 && stored[1] === 0) stored.copy(reports.get(1), 0, 2, 5);
  }
  const reply = Buffer.alloc(EVENT_SIZE);
  reply.writeUInt32LE(UHID_SET_REPORT_REPLY, 0);
  reply.writeUInt32LE(id, 4);
  reply.writeUInt16LE(err, 8);
  send(reply);
}

function onGetReport(ev) {
  const id = ev.readUInt32LE(4);
  const rnum = ev[8];
  const rtype = ev[9];
  const stored = reports.get(rnum);
  const reply = Buffer.alloc(EVENT_SIZE);
  reply.writeUInt32LE(UHID_GET_REPORT_REPLY, 0);
  reply.writeUInt32LE(id, 4);
  if (rtype !== UHID_FEATURE_REPORT || !stored) {
    reply.writeUInt16LE(32, 8);
  } else {
    // The reply starts with the report id, as a numbered report does on the wire.
    const body = Buffer.concat([Buffer.from([rnum]), stored]);
    reply.writeUInt16LE(0, 8);
    reply.writeUInt16LE(body.length, 10);
    body.copy(reply, 12);
  }
  send(reply);
}

let stopping = false;
function destroy() {
  if (stopping) return;
  stopping = true;
  const ev = Buffer.alloc(EVENT_SIZE);
  ev.writeUInt32LE(UHID_DESTROY, 0);
  try { send(ev); } catch { /* already gone */ }
  try { closeSync(fd); } catch { /* ignore */ }
  process.exit(0);
}
process.on('SIGTERM', destroy);
process.on('SIGINT', destroy);

create();
const buffer = Buffer.alloc(EVENT_SIZE);
function loop() {
  read(fd, buffer, 0, EVENT_SIZE, null, (error, n) => {
    if (stopping) return;
    if (error) {
      console.error(`blinkstick-uhid: read: ${error.message}`);
      process.exit(1);
    }
    if (n >= 4) {
      const type = buffer.readUInt32LE(0);
      if (type === UHID_START) console.log(`blinkstick-uhid: ready (serial ${serial}, colour log ${logFile})`);
      else if (type === UHID_SET_REPORT) onSetReport(buffer);
      else if (type === UHID_GET_REPORT) onGetReport(buffer);
    }
    loop();
  });
}
loop();
