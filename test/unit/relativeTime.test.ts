/** The Runs tree's "when it started", as a person says it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { relativeTime } from '../../src/extension/relativeTime';

test('relative start times: just now, minutes, hours, yesterday, days, then the date', () => {
  const now = Date.UTC(2026, 11, 4, 12, 0, 0);
  const ago = (s: number) => relativeTime(now - s * 1000, now);
  assert.equal(ago(0), 'just now');
  assert.equal(ago(44), 'just now');
  assert.equal(ago(60), '1 min ago');
  assert.equal(ago(59 * 60), '59 min ago');
  assert.equal(ago(3600), '1 h ago');
  assert.equal(ago(23 * 3600), '23 h ago');
  assert.equal(ago(30 * 3600), 'yesterday');
  assert.equal(ago(4 * 86400), '4 days ago');
  assert.match(ago(30 * 86400), /^Nov 4$/);
  assert.match(ago(400 * 86400), /2025/);
  assert.equal(relativeTime(now + 5000, now), 'just now', 'a clock a little ahead is not "in the future"');
});
