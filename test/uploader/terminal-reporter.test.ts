import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createTerminalReporter,
  formatDuration,
  formatProcessingFailures,
  formatProcessingProgress,
  formatUploadProgress,
  formatUploadSummary,
} from '../../src/uploader/terminal.reporter.js';
import type { UploadProgress } from '../../src/uploader/folder.uploader.js';

const MB = 1024 * 1024;
const progress = (over: Partial<UploadProgress> = {}): UploadProgress => ({
  filesTotal: 10,
  filesDone: 4,
  bytesTotal: 100 * MB,
  bytesDone: 40 * MB,
  bytesUploaded: 30 * MB,
  uploaded: 3,
  duplicates: 0,
  skipped: 1,
  failed: 0,
  elapsedSeconds: 10,
  ...over,
});

describe('terminal reporter', () => {
  it('formats files, MB, rate and ETA from the bytes actually sent', () => {
    // 3 MB/s sent; 60 MB left → 20 s.
    assert.equal(formatUploadProgress(progress()), 'Uploading 4/10 files  40.0/100.0 MB  3.0 MB/s  ETA 0:20  (1 already there)');
    assert.match(formatUploadProgress(progress({ bytesUploaded: 0, failed: 2 })), /0\.0 MB\/s {2}ETA – {2}\(1 already there, 2 failed\)$/);
    assert.equal(formatDuration(3725), '1:02:05');
    assert.equal(
      formatProcessingProgress({ event_id: 1, total: 9, pending: 3, processing: 1, done: 4, failed: 1, faces: 12, photos_per_minute: 6, eta_seconds: 40, complete: false }),
      'Processing 5/9 photos  12 faces  6 photos/min  ETA 0:40  (1 failed)',
    );
    assert.equal(formatProcessingFailures([{ id: 3, original_name: null, error: 'Not a readable image' }]), 'Processing failed for 1 photo(s):\n  photo #3: Not a readable image');
  });

  it('summarises counts and lists every failure with its reason', () => {
    const text = formatUploadSummary({
      uploaded: 1, duplicates: 2, skipped: 3, ignored: 1, bytes: 2 * MB, seconds: 2, notAttempted: 0,
      failed: [{ file: '/tmp/x/fake.jpg', status: 415, reason: 'The file is not a supported image' }, { file: '/tmp/x/y.jpg', status: 0, reason: 'Cannot reach server' }],
    });
    assert.equal(
      text,
      'Uploaded 1 new photo (2.0 MB in 2.0 s, 1.0 MB/s); 3 already on the server; 2 duplicates; 1 not image (ignored).\n' +
        'Failed (2):\n  /tmp/x/fake.jpg: 415 The file is not a supported image\n  /tmp/x/y.jpg: Cannot reach server',
    );
  });

  it('redraws one line on a TTY at most every 100 ms and always shows the last state', () => {
    let clock = 0;
    let out = '';
    const reporter = createTerminalReporter({ write: (s: string) => (out += s), isTTY: true }, { now: () => clock });
    reporter.start(progress({ filesDone: 0 }));
    clock = 50;
    reporter.update(progress({ filesDone: 1 })); // held back: too soon
    clock = 60;
    reporter.retrying('/abs/z.jpg', 1, 'unavailable');
    reporter.update(progress({ filesDone: 2 }));
    clock = 70;
    reporter.update(progress({ filesDone: 10, bytesDone: 100 * MB })); // the last file is always drawn
    reporter.finish({ uploaded: 0, duplicates: 0, skipped: 0, failed: [], bytes: 0, seconds: 1, ignored: 0, notAttempted: 0 });
    // <EL> stands for the erase-to-end-of-line sequence.
    const frames = out.replaceAll('\x1b[K', '<EL>').split('\r').filter(Boolean);
    assert.match(frames[0]!, /^Uploading 0\/10 files/);
    assert.match(frames[1]!, /^Retrying \/abs\/z\.jpg \(attempt 1 failed: unavailable\)<EL>\n$/);
    assert.match(frames[2]!, /^Uploading 2\/10 files.*<EL>$/, 'redrawn right after the note');
    assert.match(frames[3]!, /^Uploading 10\/10 files.*ETA 0:00.*<EL>\n$/);
    assert.equal(frames.length, 4);
  });

  it('prints plain lines at most every 5 s when not a TTY', () => {
    let clock = 0;
    let out = '';
    const reporter = createTerminalReporter({ write: (s: string) => (out += s), isTTY: false }, { now: () => clock });
    reporter.start(progress({ filesDone: 0 }));
    for (let i = 1; i < 10; i++) {
      clock = i * 1000;
      reporter.update(progress({ filesDone: i }));
    }
    clock = 10_000;
    reporter.update(progress({ filesDone: 10 }));
    reporter.finish({ uploaded: 0, duplicates: 0, skipped: 0, failed: [], bytes: 0, seconds: 1, ignored: 0, notAttempted: 0 });
    assert.deepEqual(out.split('\n').filter(Boolean).map((l) => /Uploading (\d+)\//.exec(l)?.[1]), ['0', '5', '10']);
    assert.ok(!out.includes('\r'));
  });
});
