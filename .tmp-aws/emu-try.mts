import { startEmulators } from '../scripts/emulators.ts';
import { S3Client, CreateBucketCommand, PutObjectCommand, ListObjectsV2Command, DeleteObjectsCommand, GetObjectCommand } from '@aws-sdk/client-s3';
const e = await startEmulators();
console.log(e.startupMs, e.env);
const c = new S3Client({ endpoint: e.s3Endpoint, region: e.region, credentials: e.credentials, forcePathStyle: true });
await c.send(new CreateBucketCommand({ Bucket: 'bucket-one' }));
await c.send(new PutObjectCommand({ Bucket: 'bucket-one', Key: 'a/x.txt', Body: 'hello' }));
try { await c.send(new PutObjectCommand({ Bucket: 'bucket-one', Key: 'a/x.txt', Body: 'hello2', IfNoneMatch: '*' })); console.log('ifnonematch ignored'); } catch (err) { console.log('ifnonematch err', (err as any).name); }
const g = await c.send(new GetObjectCommand({ Bucket: 'bucket-one', Key: 'a/x.txt' }));
console.log(await g.Body!.transformToString(), g.ETag, g.ContentLength);
console.log((await c.send(new ListObjectsV2Command({ Bucket: 'bucket-one', MaxKeys: 1 }))).Contents);
const d = await c.send(new DeleteObjectsCommand({ Bucket: 'bucket-one', Delete: { Objects: [{ Key: 'a/x.txt' }] } }));
console.log(d.Deleted, d.Errors);
await e.stop();
console.log('stopped');
