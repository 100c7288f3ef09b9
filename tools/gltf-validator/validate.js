// Print the Khronos glTF validator's JSON report for one .glb/.gltf file.
// Usage: node validate.js FILE   (exit 0 when the report has no errors, 1 when it has, 2 on failure)
"use strict";
const fs = require("fs");
const path = require("path");
const validator = require("gltf-validator");

const file = process.argv[2];
if (!file) {
  console.error("usage: node validate.js FILE.glb|FILE.gltf");
  process.exit(2);
}
const full = path.resolve(file);
validator
  .validateBytes(new Uint8Array(fs.readFileSync(full)), {
    uri: path.basename(full),
    maxIssues: 100,
    externalResourceFunction: (uri) =>
      new Promise((resolve, reject) => {
        fs.readFile(path.resolve(path.dirname(full), decodeURIComponent(uri)), (err, data) =>
          err ? reject(err.toString()) : resolve(data));
      }),
  })
  .then((report) => {
    console.log(JSON.stringify(report, null, 2));
    process.exit(report.issues.numErrors > 0 ? 1 : 0);
  }, (error) => {
    console.error(String(error));
    process.exit(2);
  });
