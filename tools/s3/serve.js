// Starts an S3-compatible server (@20minutes/s3rver: checks SigV4
// signatures) for the tests: node serve.js DIR BUCKET READY_FILE
// listens on 127.0.0.1, a free port, with the fixed test credentials
// S3RVER / S3RVER, creates BUCKET, then writes "PORT\n" to READY_FILE.
// Stops on SIGTERM. Used by tests/integration/test_storage.c and the e2e
// stack (tests/lib/stackctl.sh); docs/operations.md, Attachments and storage.
'use strict';
const fs = require('node:fs');
const S3rver = require('@20minutes/s3rver');

const [dir, bucket, ready] = process.argv.slice(2);
if (!dir || !bucket || !ready) {
	console.error('usage: node serve.js DIR BUCKET READY_FILE');
	process.exit(2);
}
fs.mkdirSync(dir, { recursive: true });
const server = new S3rver({
	address: '127.0.0.1',
	port: 0,
	silent: true,
	directory: dir,
	configureBuckets: [{ name: bucket }],
	allowMismatchedSignatures: false,
});
server.run().then(
	(addr) => {
		fs.writeFileSync(ready + '.tmp', `${addr.port}\n`);
		fs.renameSync(ready + '.tmp', ready);
	},
	(err) => {
		console.error(err);
		process.exit(1);
	},
);
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
