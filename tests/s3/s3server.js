#!/usr/bin/env node
// Starts s3rver on 127.0.0.1 with a random port for the tests and prints "S3RVER_PORT <port>"
// once it accepts requests. In front of s3rver (which checks only the access key id of a SigV4
// request) it verifies every signature with its own SigV4 code, answers a request signed for
// another region the way AWS does, and can inject faults for one object key:
//   POST /__surfing/fault?key=KEY&status=503&count=2   the next 2 requests get HTTP 503
//   POST /__surfing/fault?key=KEY&stall=1              requests never get an answer
// Usage: node s3server.js --dir DIR [--bucket NAME]... [--region R] [--port P (default: any)].
// Exits when stdin closes.
// S3SERVER_DEBUG=1 in the environment logs every request line to stderr.
'use strict';

const crypto = require('crypto');
const http = require('http');
const path = require('path');
const S3rver = require(path.join(__dirname, 'node_modules', 's3rver'));

const SECRETS = { S3RVER: 'S3RVER' }; // s3rver's built-in account

function parseArgs(argv) {
  const options = { dir: null, buckets: [], region: 'us-east-1', port: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (name === '--dir') options.dir = value;
    else if (name === '--bucket') options.buckets.push(value);
    else if (name === '--region') options.region = value;
    else if (name === '--port') options.port = Number(value);
    else throw new Error(`unknown option ${name}`);
  }
  if (!options.dir) throw new Error('--dir is required');
  return options;
}

const rfc3986 = (text) =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
const sha256 = (data) => crypto.createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest();

function errorXml(code, message) {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code>` +
    `<Message>${message}</Message></Error>`;
}

// Returns null when the request may go on, else [status, code, message, extraHeaders].
function checkSignature(req, region) {
  const auth = req.headers.authorization;
  if (!auth) return null; // anonymous: s3rver decides
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return [400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed.'];
  const [, keyId, day, credRegion, service, signedHeaders, provided] = m;
  if (!(keyId in SECRETS))
    return [403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.'];
  if (credRegion !== region)
    return [400, 'AuthorizationHeaderMalformed', `the region '${credRegion}' is wrong; expecting '${region}'`,
      { 'x-amz-bucket-region': region }];
  if (!signedHeaders.split(';').includes('host'))
    return [403, 'AccessDenied', 'host must be a signed header'];
  const url = new URL(req.url, 'http://placeholder');
  const canonicalUri = url.pathname.split('/').map((s) => rfc3986(decodeURIComponent(s))).join('/');
  const query = [...url.searchParams].map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`).sort().join('&');
  const headers = signedHeaders.split(';')
    .map((h) => `${h}:${String(req.headers[h] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonical = [req.method, canonicalUri, query, headers, signedHeaders,
    req.headers['x-amz-content-sha256'] ?? ''].join('\n');
  const scope = `${day}/${credRegion}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', req.headers['x-amz-date'] ?? '', scope, sha256(canonical)].join('\n');
  let key = hmac('AWS4' + SECRETS[keyId], day);
  for (const part of [credRegion, service, 'aws4_request']) key = hmac(key, part);
  if (hmac(key, toSign).toString('hex') !== provided)
    return [403, 'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided.'];
  return null;
}

const faults = new Map(); // key -> { status, count } or { stall: true }

function objectKeyOf(req) {
  return decodeURIComponent(new URL(req.url, 'http://placeholder').pathname);
}

function takeFault(req) {
  const requestPath = objectKeyOf(req);
  for (const [key, fault] of faults) {
    if (!requestPath.endsWith('/' + key)) continue;
    if (fault.stall) return fault;
    if (fault.count > 0) { fault.count -= 1; return fault; }
  }
  return null;
}

function handleControl(req, res) {
  const url = new URL(req.url, 'http://placeholder');
  const key = url.searchParams.get('key');
  if (url.searchParams.get('stall')) faults.set(key, { stall: true });
  else faults.set(key, { status: Number(url.searchParams.get('status')), count: Number(url.searchParams.get('count')) });
  res.writeHead(204).end();
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const s3rver = new S3rver({
    directory: options.dir, silent: true, serviceEndpoint: 'localhost', vhostBuckets: true,
    configureBuckets: options.buckets.map((name) => ({ name, configs: [] })),
  });
  await s3rver.configureBuckets();
  const app = s3rver.callback();
  const server = http.createServer((req, res) => {
    if (process.env.S3SERVER_DEBUG) process.stderr.write(`${req.method} ${req.url}\n`);
    if (req.url.startsWith('/__surfing/')) return handleControl(req, res);
    const fault = takeFault(req);
    if (fault && fault.stall) return; // never answer
    if (fault) return res.writeHead(fault.status, { 'Content-Type': 'application/xml' })
      .end(errorXml('InternalError', `injected fault ${fault.status}`));
    const refusal = checkSignature(req, options.region);
    if (refusal) {
      const [status, code, message, extra] = refusal;
      return res.writeHead(status, { 'Content-Type': 'application/xml', ...(extra || {}) })
        .end(errorXml(code, message));
    }
    return app(req, res);
  });
  server.listen(options.port, '127.0.0.1', () => {
    process.stdout.write(`S3RVER_PORT ${server.address().port}\n`);
  });
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

main().catch((error) => {
  process.stderr.write(`s3server.js: ${error.stack || error}\n`);
  process.exit(1);
});
