// Reads the control groups tether up puts instances in (src/platform/cgroup.h),
// independently of tether up: finds the hierarchy in /proc/self/mountinfo and,
// where that folder is hidden (a /sys mounted over /sys/fs/cgroup), mounts the
// same hierarchy in a private folder (root only), unmounted at exit.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const roots = new Map(); // 'memory' | 'freezer' | '' (v2) -> folder or null
const mounted = [];
process.on('exit', () => {
  for (const d of mounted) {
    try {
      execFileSync('umount', ['-l', d], { stdio: 'ignore' });
      fs.rmdirSync(d);
    } catch (e) { /* best effort */ }
  }
});

// The folder of hierarchy ctrl ('memory', 'freezer', or '' for cgroup2), or null.
function hierarchy(ctrl) {
  if (roots.has(ctrl)) return roots.get(ctrl);
  let found = null;
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!post) continue;
    const [type, , superOpts] = post.split(' ');
    const point = pre.split(' ')[4];
    const ok = ctrl === '' ? type === 'cgroup2' : type === 'cgroup' && superOpts.split(',').includes(ctrl);
    if (!ok) continue;
    if (fs.existsSync(path.join(point, 'cgroup.procs'))) {
      found = point;
    } else {
      const dir = fs.mkdtempSync('/tmp/tether-test-cgroup-');
      try {
        execFileSync('mount', ctrl === '' ? ['-t', 'cgroup2', 'cgroup2', dir] : ['-t', 'cgroup', '-o', ctrl, 'cgroup', dir], { stdio: 'ignore' });
        mounted.push(dir);
        found = dir;
      } catch (e) {
        fs.rmdirSync(dir);
      }
    }
    break;
  }
  roots.set(ctrl, found);
  return found;
}

// The group of pid in hierarchy ctrl, as a folder path, or null.
function groupDir(pid, ctrl) {
  let text;
  try {
    text = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch (e) {
    return null;
  }
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const hit = ctrl === '' ? m[1] === '0' && m[2] === '' : m[2].split(',').includes(ctrl);
    if (!hit) continue;
    const root = hierarchy(ctrl);
    return root ? path.join(root, m[3]) : null;
  }
  return null;
}

// 'FROZEN' / 'THAWED' / 'FREEZING' (v1), 'FROZEN' / 'THAWED' (v2), or null.
function freezeState(pid, kind) {
  if (kind === 'cgroup-v1') {
    const d = groupDir(pid, 'freezer');
    try {
      return d ? fs.readFileSync(path.join(d, 'freezer.state'), 'utf8').trim() : null;
    } catch (e) {
      return null;
    }
  }
  const d = groupDir(pid, '');
  try {
    const ev = fs.readFileSync(path.join(d, 'cgroup.events'), 'utf8');
    return /frozen 1/.test(ev) ? 'FROZEN' : 'THAWED';
  } catch (e) {
    return null;
  }
}

// The group folder (memory hierarchy for v1) of pid, relative to its hierarchy.
function groupPath(pid, kind) {
  const text = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  const want = kind === 'cgroup-v1' ? 'memory' : '';
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (m && (want === '' ? m[1] === '0' : m[2].split(',').includes(want))) return m[3];
  }
  return null;
}

// Does the group (relative path, memory or v2 hierarchy) still exist?
function groupExists(rel, kind) {
  const root = hierarchy(kind === 'cgroup-v1' ? 'memory' : '');
  return root !== null && fs.existsSync(path.join(root, rel));
}

module.exports = { hierarchy, groupDir, freezeState, groupPath, groupExists };
