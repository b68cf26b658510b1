// A silent Ogg Opus file (RFC 7845) of a given length, written here so the
// replay tests need no encoder: 20 ms CELT frames of digital silence
// (0xF8 0xFF 0xFE), one Ogg page per second, each page's CRC computed.

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

function crc(bytes) {
  let c = 0;
  for (const b of bytes) c = ((c << 8) ^ CRC_TABLE[((c >>> 24) ^ b) & 0xff]) >>> 0;
  return c >>> 0;
}

function page(packets, { granule, serial, sequence, first = false, last = false }) {
  const lacing = [];
  for (const p of packets) {
    let n = p.length;
    while (n >= 255) {
      lacing.push(255);
      n -= 255;
    }
    lacing.push(n);
  }
  const body = Buffer.concat(packets);
  const head = Buffer.alloc(27 + lacing.length);
  head.write("OggS", 0, "ascii");
  head[4] = 0;
  head[5] = (first ? 2 : 0) | (last ? 4 : 0);
  head.writeBigInt64LE(BigInt(granule), 6);
  head.writeUInt32LE(serial, 14);
  head.writeUInt32LE(sequence, 18);
  head.writeUInt32LE(0, 22);
  head[26] = lacing.length;
  Buffer.from(lacing).copy(head, 27);
  const out = Buffer.concat([head, body]);
  out.writeUInt32LE(crc(out), 22);
  return out;
}

/** `seconds` of silence (plus 6.5 ms of pre-skip) as Ogg Opus, mono, 16 kHz input rate. */
export function silentOggOpus(seconds) {
  const serial = 0x43414e44;
  const preSkip = 312;
  const opusHead = Buffer.alloc(19);
  opusHead.write("OpusHead", 0, "ascii");
  opusHead[8] = 1;
  opusHead[9] = 1;
  opusHead.writeUInt16LE(preSkip, 10);
  opusHead.writeUInt32LE(16000, 12);
  const vendor = Buffer.from("candor-tests", "utf8");
  const opusTags = Buffer.alloc(8 + 4 + vendor.length + 4);
  opusTags.write("OpusTags", 0, "ascii");
  opusTags.writeUInt32LE(vendor.length, 8);
  vendor.copy(opusTags, 12);
  const pages = [
    page([opusHead], { granule: 0, serial, sequence: 0, first: true }),
    page([opusTags], { granule: 0, serial, sequence: 1 }),
  ];
  const frame = Buffer.from([0xf8, 0xff, 0xfe]);
  const frames = Math.round(seconds * 50);
  // The granule counts every decoded sample (48 kHz), the pre-skip too.
  let granule = 0;
  let sequence = 2;
  for (let at = 0; at < frames; at += 50) {
    const n = Math.min(50, frames - at);
    granule += n * 960;
    pages.push(page(Array(n).fill(frame), { granule, serial, sequence: sequence++, last: at + n >= frames }));
  }
  return Buffer.concat(pages);
}
