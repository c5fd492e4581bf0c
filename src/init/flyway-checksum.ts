// Flyway's checksum of a SQL script: a CRC32 updated with each line's UTF-8 bytes, line endings
// left out (a leading byte-order mark too), reported as a signed 32-bit integer.
const TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

function update(crc: number, bytes: Uint8Array): number {
  let c = crc;
  for (const b of bytes) c = TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return c;
}

export function flywayChecksum(content: Buffer | string): number {
  let text = typeof content === 'string' ? content : content.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  // Java's BufferedReader.readLine: lines end at \n, \r or \r\n; a final terminator adds no line.
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  let crc = 0xffffffff;
  for (const l of lines) crc = update(crc, Buffer.from(l, 'utf8'));
  return (crc ^ 0xffffffff) | 0;
}
