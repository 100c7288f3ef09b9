#!/usr/bin/env node
// The part of Rhubarb Lip Sync's command line that benchmarks/lips.py uses
// (`rhubarb -f json --quiet [-d dialog.txt] file.wav`), run on the WebAssembly port from npm
// (rhubarb-lip-sync-wasm, MIT; it embeds Rhubarb's PocketSphinx models), for machines
// without the native binary. Set-up, outside the project:
//   npm install --prefix DIR rhubarb-lip-sync-wasm
//   RHUBARB_WASM=DIR/node_modules/rhubarb-lip-sync-wasm python -m benchmarks --only lips \
//       --rhubarb benchmarks/rhubarb_wasm.mjs
// Reads 16-bit PCM WAV at 16 kHz, mono (the port's only input format); prints Rhubarb's JSON.
import { readFileSync } from "fs";
import { join } from "path";

function fail(message) {
  process.stderr.write(`rhubarb_wasm: ${message}\n`);
  process.exit(1);
}

const args = process.argv.slice(2);
let dialog = "";
let audio = null;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "-f" || a === "--exportFormat") {
    if (args[++i] !== "json") fail("only -f json is supported");
  } else if (a === "-d" || a === "--dialogFile") {
    dialog = readFileSync(args[++i], "utf8").trim();
  } else if (a === "--quiet" || a === "-q") {
    // always quiet
  } else if (a.startsWith("-")) {
    fail(`unsupported option ${a}`);
  } else {
    audio = a;
  }
}
if (!audio) fail("no audio file given");
const dir = process.env.RHUBARB_WASM;
if (!dir) fail("set RHUBARB_WASM to the rhubarb-lip-sync-wasm package folder");

// Minimal RIFF reader: the fmt and data chunks.
const wav = readFileSync(audio);
if (wav.toString("ascii", 0, 4) !== "RIFF" || wav.toString("ascii", 8, 12) !== "WAVE") fail(`${audio}: not a WAV file`);
let pos = 12, fmt = null, data = null;
while (pos + 8 <= wav.length) {
  const id = wav.toString("ascii", pos, pos + 4);
  const size = wav.readUInt32LE(pos + 4);
  if (id === "fmt ") fmt = { format: wav.readUInt16LE(pos + 8), channels: wav.readUInt16LE(pos + 10),
                             rate: wav.readUInt32LE(pos + 12), bits: wav.readUInt16LE(pos + 22) };
  if (id === "data") data = wav.subarray(pos + 8, Math.min(pos + 8 + size, wav.length));
  pos += 8 + size + (size & 1);
}
if (!fmt || !data) fail(`${audio}: no fmt or data chunk`);
if (fmt.format !== 1 || fmt.channels !== 1 || fmt.rate !== 16000 || fmt.bits !== 16) {
  fail(`${audio}: needs 16-bit PCM, 16 kHz, mono (got format ${fmt.format}, ${fmt.channels} ch, ${fmt.rate} Hz, ${fmt.bits} bit)`);
}

const factory = (await import(join(dir, "dist", "wasm", "rhubarb.js"))).default;
const module = await factory({
  locateFile: (name) => join(dir, "dist", "wasm", name),
  print: () => {},  // the port logs every cue on stdout
  printErr: () => {},
});
const result = module.getLipSync(Buffer.from(data), dialog);
const cues = Array.from(result.mouthCues, (c) => ({ start: c.start, end: c.end, value: c.value }));
process.stdout.write(JSON.stringify({ metadata: { soundFile: audio, duration: data.length / 32000 }, mouthCues: cues }) + "\n");
