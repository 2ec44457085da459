import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import sharp from 'sharp';
import { registerVisionCommands } from '../../src/vision/cli.js';
import { devDataDir, testModelDir } from './fixtures.js';

async function run(args: string[]): Promise<string> {
  const program = new Command('facepass').exitOverride();
  registerVisionCommands(program, testModelDir);
  const lines: string[] = [];
  const original = console.log;
  console.log = (...parts: unknown[]) => void lines.push(parts.join(' '));
  try {
    await program.parseAsync(args, { from: 'user' });
  } finally {
    console.log = original;
  }
  return lines.join('\n');
}

describe('vision CLI', () => {
  it('lists model packs', async () => {
    const out = await run(['models', 'list']);
    assert.match(out, /faceapi-resnet128/);
    assert.match(out, /insightface-buffalo/);
  });

  it('compares two photos and draws detections', async () => {
    const dev = await devDataDir();
    const simm = path.join(dev, 'johns/John_Simm');
    const out = await run(['faces', 'compare', path.join(simm, '000288_00470387.jpg'), path.join(simm, '000297_00470170.jpg')]);
    assert.match(out, /same person/);
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'facepass-cli-'));
    try {
      const annotated = path.join(tmp, 'annotated.jpg');
      const msg = await run(['faces', 'detect', path.join(dev, 'faces/2008_001009.jpg'), '--out', annotated]);
      assert.match(msg, /2 face\(s\)/);
      assert.ok((await stat(annotated)).size > 1000);
      assert.equal((await sharp(annotated).metadata()).width, 360);
      const json = JSON.parse(await run(['faces', 'analyze', '--json', '--mode', 'selfie', path.join(simm, '000288_00470387.jpg')])) as { faces: { embedding: number[] }[] };
      assert.equal(json.faces[0]?.embedding.length, 128);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
