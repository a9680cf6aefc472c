#!/usr/bin/env node
// Writes the JSON schemas of the Kubernetes kinds examples/deploy uses, taken
// from the npm packages kubernetes-models and @kubernetes-models/apimachinery,
// which ship them as JavaScript objects (one module per definition, each
// registering its schema with @kubernetes-models/validate). README.md next to
// this file says which versions and how to run it again.
//
//   node extract.js MODELS_DIR APIMACHINERY_DIR > kubernetes-VERSION.json
//
// MODELS_DIR and APIMACHINERY_DIR are the unpacked packages (their package/
// directories). Only the definitions the kinds below reach are written.
// Changes from what the packages hold: "$ref": "ID#" becomes
// "#/definitions/ID", and `nullable: true` (an OpenAPI keyword) becomes a
// "null" in `type`, so that a JSON Schema validator reads them the same.
'use strict';

const fs = require('fs');
const path = require('path');
const Module = require('module');

const KINDS = {
  'v1/Namespace': 'io.k8s.api.core.v1.Namespace',
  'v1/ServiceAccount': 'io.k8s.api.core.v1.ServiceAccount',
  'v1/ConfigMap': 'io.k8s.api.core.v1.ConfigMap',
  'v1/Secret': 'io.k8s.api.core.v1.Secret',
  'v1/Service': 'io.k8s.api.core.v1.Service',
  'apps/v1/Deployment': 'io.k8s.api.apps.v1.Deployment',
  'apps/v1/DaemonSet': 'io.k8s.api.apps.v1.DaemonSet',
};

const [models, apimachinery] = process.argv.slice(2);
if (!models || !apimachinery) {
  process.stderr.write('usage: node extract.js MODELS_DIR APIMACHINERY_DIR\n');
  process.exit(2);
}

// every schema module registers through this stand-in of the validator
const registered = {};
const stub = { register: (id, schema) => { registered[id] = schema; } };
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  if (request === '@kubernetes-models/validate') return '@kubernetes-models/validate';
  const prefix = '@kubernetes-models/apimachinery/';
  if (request.startsWith(prefix))
    return resolve.call(this, path.join(path.resolve(apimachinery), request.slice(prefix.length)), parent, ...rest);
  return resolve.call(this, request, parent, ...rest);
};
require.cache['@kubernetes-models/validate'] = { id: '@kubernetes-models/validate', loaded: true, exports: stub };

for (const dir of [path.join(apimachinery, '_schemas'), path.join(models, '_schemas')])
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.js')).sort())
    require(path.resolve(dir, f)).addSchema();

function convert(node) {
  if (Array.isArray(node)) return node.map(convert);
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref') out[k] = '#/definitions/' + v.replace(/#$/, '');
    else if (k !== 'nullable') out[k] = convert(v);
  }
  if (node.nullable === true && typeof node.type === 'string') out.type = [node.type, 'null'];
  return out;
}

const wanted = {};
function reach(id) {
  if (wanted[id]) return;
  if (!registered[id]) throw new Error('no schema registered for ' + id);
  wanted[id] = convert(registered[id]);
  JSON.stringify(registered[id], (k, v) => {
    if (k === '$ref') reach(v.replace(/#$/, ''));
    return v;
  });
}
Object.values(KINDS).forEach(reach);

const version = (p) => JSON.parse(fs.readFileSync(path.join(p, 'package.json'), 'utf8')).version;
const definitions = {};
for (const id of Object.keys(wanted).sort()) definitions[id] = wanted[id];
process.stdout.write(JSON.stringify({
  $comment: 'Kubernetes JSON schemas from the npm packages kubernetes-models@' + version(models) +
    ' and @kubernetes-models/apimachinery@' + version(apimachinery) + ' (MIT), extracted by extract.js',
  kinds: KINDS,
  definitions,
}, null, 1) + '\n');
