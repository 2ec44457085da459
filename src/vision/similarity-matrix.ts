import * as ort from 'onnxruntime-node';
import { GraphBuilder } from './onnx-graph-builder.js';

/**
 * All-pairs dot products of two sets of vectors, block by block, through onnxruntime's MatMul
 * (its MLAS kernels are an order of magnitude faster than a JS loop, and use every core): the
 * person clustering compares every face of an event with every other (10,000 faces: 50 million
 * pairs). One small session per process, built in memory.
 */
let session: Promise<ort.InferenceSession> | undefined;

function matmulSession(): Promise<ort.InferenceSession> {
  session ??= (() => {
    const g = new GraphBuilder('pair-dots');
    const a = g.input('a', ['m', 'd']);
    const b = g.input('b', ['d', 'n']);
    g.output(g.op('MatMul', [a, b]), 'dots', ['m', 'n']);
    return ort.InferenceSession.create(g.toBytes(), { logSeverityLevel: 3 });
  })();
  return session;
}

/** Rows of A compared per MatMul call: bounds the output block (rows × |B| floats). */
const BLOCK_ROWS = 512;

/**
 * Calls `each(i, dots)` for every row i of `a` (row-major, `dims` wide) with its dot products
 * against every row of `b` (`dots[j]` = a_i · b_j). `dots` is reused: read it inside the call.
 */
export async function forEachDotRow(a: Float32Array, b: Float32Array, dims: number, each: (i: number, dots: Float32Array) => void): Promise<void> {
  const m = a.length / dims, n = b.length / dims;
  if (m === 0 || n === 0) return;
  const s = await matmulSession();
  // B transposed once: MatMul wants [d, n].
  const bt = new Float32Array(dims * n);
  for (let j = 0; j < n; j++) for (let d = 0; d < dims; d++) bt[d * n + j] = b[j * dims + d]!;
  const bTensor = new ort.Tensor('float32', bt, [dims, n]);
  for (let start = 0; start < m; start += BLOCK_ROWS) {
    const rows = Math.min(BLOCK_ROWS, m - start);
    const out = await s.run({ a: new ort.Tensor('float32', a.subarray(start * dims, (start + rows) * dims), [rows, dims]), b: bTensor });
    const dots = out.dots!.data as Float32Array;
    for (let r = 0; r < rows; r++) each(start + r, dots.subarray(r * n, (r + 1) * n));
  }
}
