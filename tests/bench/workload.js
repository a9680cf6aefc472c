// A stand-in for an install script: reads and writes many small files and
// spawns shell commands, the way build steps of npm packages do.
'use strict';
const fs = require('fs');
const cp = require('child_process');
const path = require('path');
const os = require('os');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fangs-bench-'));
for (let i = 0; i < 400; i++) {
  const f = path.join(dir, 'f' + (i % 50) + '.json');
  fs.writeFileSync(f, JSON.stringify({ i, when: Date.now() }));
  JSON.parse(fs.readFileSync(f, 'utf8'));
  fs.readdirSync(dir);
  try { fs.readFileSync('/etc/hostname'); } catch (e) { /* absent is fine */ }
  if (i % 20 === 0)
    cp.execFileSync('/bin/sh', ['-c', 'cat /etc/os-release > /dev/null; ls ' + dir + ' > /dev/null']);
}
fs.rmSync(dir, { recursive: true });
