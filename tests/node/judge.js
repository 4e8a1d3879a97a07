// The official Node.js SDK (npm `qiniu`, pinned in package.json) as a second judge of the
// kodo-jobs emulator. Run by tests/node/test_node_judge.py against an emulator listening on
// port 80 of a loopback address of its own (the SDK signs `Host: host:port:port` when a URL
// names a port, so a real deployment's default port is the only faithful setting).
//
// Usage: node judge.js <config.json>; prints one JSON line per check, exits 1 on the first
// failure. Config: {host, ak, sk, bucket, privateBucket, origin, workdir}.
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const qiniu = require('qiniu');

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const host = cfg.host; // "127.x.y.z" on port 80: no port in any URL
const mac = new qiniu.auth.digest.Mac(cfg.ak, cfg.sk);
const config = new qiniu.conf.Config({
    zone: new qiniu.conf.Zone([host], [host], host, host, host, host)
});
const bucketManager = new qiniu.rs.BucketManager(mac, config);

function token (scope, extra) {
    return new qiniu.rs.PutPolicy(Object.assign({ scope, expires: 3600 }, extra || {})).uploadToken(mac);
}

function qetag (buf) {
    // Kodo's etag: sha1 of the content (<= 4 MiB) or of the blocks' sha1s, prefixed.
    const block = 4 * 1024 * 1024;
    if (buf.length <= block) {
        return Buffer.concat([Buffer.from([0x16]), crypto.createHash('sha1').update(buf).digest()])
            .toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    }
    const sha1s = [];
    for (let i = 0; i < buf.length; i += block) {
        sha1s.push(crypto.createHash('sha1').update(buf.subarray(i, i + block)).digest());
    }
    const whole = crypto.createHash('sha1').update(Buffer.concat(sha1s)).digest();
    return Buffer.concat([Buffer.from([0x96]), whole]).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

function get (url) {
    return new Promise((resolve, reject) => {
        http.get(url, res => {
            const chunks = [];
            res.on('data', c => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
        }).on('error', reject);
    });
}

function callback (fn) {
    // the SDK's callback-only calls (pfop, prefop) as a promise of {body, status}
    return new Promise((resolve, reject) => {
        fn((err, body, info) => (err ? reject(err) : resolve({ body, status: info.statusCode })));
    });
}

const checks = [];
function check (name, fn) {
    checks.push([name, fn]);
}

const B = cfg.bucket;
const small = Buffer.from('hello from the node.js judge\n');
const big = crypto.randomBytes(5 * 1024 * 1024 + 123); // two v1 blocks, six v2 parts of 1 MiB

check('form upload', async () => {
    const uploader = new qiniu.form_up.FormUploader(config);
    const ret = await uploader.put(token(`${B}:node/form.txt`), 'node/form.txt', small, new qiniu.form_up.PutExtra());
    assert.equal(ret.resp.statusCode, 200, JSON.stringify(ret.data));
    assert.deepEqual(ret.data, { hash: qetag(small), key: 'node/form.txt' });
});

for (const version of ['v1', 'v2']) {
    check(`resumable ${version} upload`, async () => {
        const file = path.join(cfg.workdir, `big-${version}.bin`);
        fs.writeFileSync(file, big);
        const extra = new qiniu.resume_up.PutExtra();
        extra.version = version;
        if (version === 'v2') {
            extra.partSize = 1024 * 1024;
        }
        const uploader = new qiniu.resume_up.ResumeUploader(config);
        const key = `node/resumable-${version}.bin`;
        const ret = await uploader.putFile(token(`${B}:${key}`), key, file, extra);
        assert.equal(ret.resp.statusCode, 200, JSON.stringify(ret.data));
        assert.equal(ret.data.key, key);
        const stat = await bucketManager.stat(B, key);
        assert.equal(stat.resp.statusCode, 200);
        assert.equal(stat.data.fsize, big.length);
        if (version === 'v1') {
            assert.equal(ret.data.hash, qetag(big)); // 4 MiB blocks: the standard etag
        }
    });
}

check('stat, copy, move, delete', async () => {
    const stat = await bucketManager.stat(B, 'node/form.txt');
    assert.equal(stat.resp.statusCode, 200);
    assert.equal(stat.data.hash, qetag(small));
    assert.equal(stat.data.fsize, small.length);
    const copy = await bucketManager.copy(B, 'node/form.txt', B, 'node/copy.txt', { force: true });
    assert.equal(copy.resp.statusCode, 200, JSON.stringify(copy.data));
    const move = await bucketManager.move(B, 'node/copy.txt', B, 'node/moved.txt', { force: true });
    assert.equal(move.resp.statusCode, 200, JSON.stringify(move.data));
    assert.equal((await bucketManager.stat(B, 'node/copy.txt')).resp.statusCode, 612);
    assert.equal((await bucketManager.stat(B, 'node/moved.txt')).data.hash, qetag(small));
    const del = await bucketManager.delete(B, 'node/moved.txt');
    assert.equal(del.resp.statusCode, 200);
    assert.equal((await bucketManager.stat(B, 'node/moved.txt')).resp.statusCode, 612);
});

check('list v1 and v2', async () => {
    const v1 = await bucketManager.listPrefix(B, { prefix: 'node/', limit: 2 });
    assert.equal(v1.resp.statusCode, 200);
    assert.deepEqual(v1.data.items.map(i => i.key), ['node/form.txt', 'node/resumable-v1.bin']);
    assert.ok(v1.data.marker);
    const rest = await bucketManager.listPrefix(B, { prefix: 'node/', marker: v1.data.marker });
    assert.deepEqual(rest.data.items.map(i => i.key), ['node/resumable-v2.bin']);
    assert.ok(!rest.data.marker);
    const dirs = await bucketManager.listPrefix(B, { delimiter: '/' });
    assert.deepEqual(dirs.data.commonPrefixes, ['media/', 'node/']); // media/: seeded by the test
    const v2 = await bucketManager.listPrefixV2(B, { prefix: 'node/' });
    assert.equal(v2.resp.statusCode, 200);
    const lines = String(v2.data).split('\n').filter(l => l.trim()).map(l => JSON.parse(l));
    assert.deepEqual(lines.map(l => l.item.key), ['node/form.txt', 'node/resumable-v1.bin', 'node/resumable-v2.bin']);
    assert.equal(lines[2].marker, '');
    const after = await bucketManager.listPrefixV2(B, { prefix: 'node/', marker: lines[0].marker, delimiter: '/' });
    const keys = String(after.data).split('\n').filter(l => l.trim()).map(l => JSON.parse(l).item.key);
    assert.deepEqual(keys, ['node/resumable-v1.bin', 'node/resumable-v2.bin']);
});

check('batch with a 298', async () => {
    const ops = [
        qiniu.rs.statOp(B, 'node/form.txt'),
        qiniu.rs.statOp(B, 'node/no-such-key'),
        qiniu.rs.copyOp(B, 'node/form.txt', B, 'node/batch-copy.txt', { force: true })
    ];
    const ret = await bucketManager.batch(ops);
    assert.equal(ret.resp.statusCode, 298, JSON.stringify(ret.data));
    assert.deepEqual(ret.data.map(r => r.code), [200, 612, 200]);
    assert.equal(ret.data[0].data.hash, qetag(small));
});

check('fetch from a loopback URL', async () => {
    const ret = await bucketManager.fetch(`${cfg.origin}/fetched.txt`, B, 'node/fetched.txt');
    assert.equal(ret.resp.statusCode, 200, JSON.stringify(ret.data));
    const origin = await get(`${cfg.origin}/fetched.txt`);
    assert.equal(ret.data.hash, qetag(origin.body));
    assert.equal((await bucketManager.stat(B, 'node/fetched.txt')).data.fsize, origin.body.length);
});

check('pfop and prefop', async () => {
    const ops = new qiniu.fop.OperationManager(mac, config);
    const fops = ['avinfo', `avthumb/mp4|saveas/${qiniu.util.urlsafeBase64Encode(`${B}:media/out.mp4`)}`];
    const sent = await callback(cb => ops.pfop(B, 'media/video.mp4', fops, null, { force: true }, cb));
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    const id = sent.body.persistentId;
    // the SDK's own example builds the status query with no keys at all
    const anonymous = new qiniu.fop.OperationManager(null, config);
    let status;
    for (let i = 0; i < 500; i++) {
        status = await callback(cb => anonymous.prefop(id, cb));
        assert.equal(status.status, 200, JSON.stringify(status.body));
        if (status.body.code !== 1 && status.body.code !== 2) break;
        await new Promise(resolve => setTimeout(resolve, 20));
    }
    assert.equal(status.body.code, 0, JSON.stringify(status.body));
    assert.equal(status.body.items[1].key, 'media/out.mp4');
    assert.equal((await bucketManager.stat(B, 'media/out.mp4')).resp.statusCode, 200);
    // an av fop on a non-media file fails as on Kodo
    const bad = await callback(cb => ops.pfop(B, 'node/form.txt', ['avthumb/mp4'], null, {}, cb));
    for (let i = 0; i < 500; i++) {
        status = await callback(cb => anonymous.prefop(bad.body.persistentId, cb));
        if (status.body.code !== 1 && status.body.code !== 2) break;
        await new Promise(resolve => setTimeout(resolve, 20));
    }
    assert.equal(status.body.code, 3);
    assert.equal(status.body.items[0].error, 'execute fop cmd failed: not a valid media');
});

check('private download URLs', async () => {
    const uploader = new qiniu.form_up.FormUploader(config);
    const up = await uploader.put(token(`${cfg.privateBucket}:secret.txt`), 'secret.txt', small, new qiniu.form_up.PutExtra());
    assert.equal(up.resp.statusCode, 200);
    const domain = `http://${host}/dl/${cfg.privateBucket}`;
    const deadline = Math.floor(Date.now() / 1000) + 3600;
    const signed = await get(bucketManager.privateDownloadUrl(domain, 'secret.txt', deadline));
    assert.equal(signed.status, 200);
    assert.deepEqual(signed.body, small);
    assert.equal((await get(`${domain}/secret.txt`)).status, 401);
    const expired = bucketManager.privateDownloadUrl(domain, 'secret.txt', Math.floor(Date.now() / 1000) - 10);
    assert.equal((await get(expired)).status, 401);
});

check('a wrong secret is refused everywhere', async () => {
    const wrong = new qiniu.auth.digest.Mac(cfg.ak, `${cfg.sk}-wrong`);
    const manager = new qiniu.rs.BucketManager(wrong, config);
    assert.equal((await manager.stat(B, 'node/form.txt')).resp.statusCode, 401);
    assert.equal((await manager.delete(B, 'node/form.txt')).resp.statusCode, 401);
    assert.equal((await manager.listPrefix(B, {})).resp.statusCode, 401);
    const upload = await new qiniu.form_up.FormUploader(config).put(
        new qiniu.rs.PutPolicy({ scope: B }).uploadToken(wrong), 'node/forged.txt', small, new qiniu.form_up.PutExtra());
    assert.equal(upload.resp.statusCode, 401);
    const sent = await callback(cb => new qiniu.fop.OperationManager(wrong, config).pfop(B, 'node/form.txt', ['avinfo'], null, {}, cb));
    assert.equal(sent.status, 401);
    assert.equal((await bucketManager.stat(B, 'node/form.txt')).resp.statusCode, 200); // nothing changed
});

(async () => {
    for (const [name, fn] of checks) {
        try {
            await fn();
            console.log(JSON.stringify({ check: name, ok: true }));
        } catch (err) {
            console.log(JSON.stringify({ check: name, ok: false, error: String(err && err.stack || err) }));
            process.exit(1);
        }
    }
})();
