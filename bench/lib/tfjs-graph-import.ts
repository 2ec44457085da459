import { ModelPackError } from '../../src/vision/errors.js';
import type { FaceApiWeights } from '../../src/vision/faceapi-weights.js';
import { GraphBuilder, hwc1ToC1hw, hwioToOihw, int, ints, samePads } from '../../src/vision/onnx-graph-builder.js';

/** One node of a TensorFlow.js graph model (`model.json` → `modelTopology.node`). */
export interface TfjsNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, { s?: string; i?: string; list?: { i?: string[]; s?: string[] } }>;
}

/** A computed value: NCHW map (h, w known) or a [N, C] vector. */
interface Value {
  name: string;
  c: number;
  /** Spatial size; undefined for vectors. */
  hw?: { h: number; w: number };
}

const decode = (b64: string | undefined): string => (b64 ? Buffer.from(b64, 'base64').toString('utf8') : '');

/**
 * Rebuilds a TensorFlow.js graph model of plain conv blocks as ONNX, NCHW throughout, so it runs on
 * the same onnxruntime as the default pack. Only the ops small face recognisers use are known
 * (conv / depthwise conv with optional fused bias and ReLU, explicit pads, element-wise arithmetic
 * with per-channel or scalar constants, PReLU as max/min or relu/abs arithmetic, flatten, dense);
 * anything else fails loudly rather than building a wrong net. The graph is cut at `outputNode`.
 */
export function importTfjsConvGraph(
  nodes: TfjsNode[],
  weights: FaceApiWeights,
  opts: { name: string; input: { node: string; size: number }; outputNode: string; outputDims: number },
): Uint8Array {
  const g = new GraphBuilder(opts.name);
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const values = new Map<string, Value>();
  values.set(opts.input.node, { name: g.input('input', ['batch', 3, opts.input.size, opts.input.size]), c: 3, hw: { h: opts.input.size, w: opts.input.size } });
  const fail = (why: string): never => {
    throw new ModelPackError('invalid', `${opts.name}: ${why}`);
  };
  const tensor = (name: string): { shape: number[]; data: Float32Array } => weights.tensors.get(name) ?? fail(`weight ${name} missing`);
  const isConst = (name: string): boolean => byName.get(name)?.op === 'Const';

  /** A constant laid out to broadcast against `like` (per-channel → [1,C,1,1] on maps). */
  const constFor = (name: string, like: Value): string => {
    const t = tensor(name);
    const n = t.data.length;
    if (n === 1) return g.floatConst(t.data, []);
    if (n !== like.c) fail(`constant ${name} of ${n} values against ${like.c} channels`);
    return g.floatConst(t.data, like.hw ? [1, n, 1, 1] : [n]);
  };

  const conv = (n: TfjsNode, x: Value, depthwise: boolean, fusedOps: string[]): Value => {
    const [, wName, bName] = n.input ?? [];
    if (!x.hw || !wName) return fail(`${n.name} has unexpected inputs`);
    const wt = tensor(wName);
    const [kh, kw, cin, mult] = wt.shape as [number, number, number, number];
    const stride = Number(n.attr?.strides?.list?.i?.[1] ?? '1');
    const padding = decode(n.attr?.padding?.s);
    if (depthwise && mult !== 1) fail(`depthwise multiplier ${mult}`);
    const cout = depthwise ? cin : mult;
    const { pads, outH, outW } =
      padding === 'SAME'
        ? samePads(x.hw.h, x.hw.w, kh, stride)
        : { pads: [0, 0, 0, 0], outH: Math.floor((x.hw.h - kh) / stride) + 1, outW: Math.floor((x.hw.w - kw) / stride) + 1 };
    const weight = depthwise ? g.floatConst(hwc1ToC1hw(wt.data, kh, kw, cin), [cin, 1, kh, kw]) : g.floatConst(hwioToOihw(wt.data, kh, kw, cin, cout), [cout, cin, kh, kw]);
    const inputs = [x.name, weight];
    if (fusedOps[0] === 'BiasAdd') inputs.push(g.floatConst(tensor(bName ?? fail(`${n.name} has no bias`)).data, [cout]));
    let y = g.op('Conv', inputs, {
      kernel_shape: ints([kh, kw]),
      strides: ints([stride, stride]),
      pads: ints([pads[0]!, pads[1]!, pads[2]!, pads[3]!]),
      group: int(depthwise ? cin : 1),
    });
    if (fusedOps[1] === 'Relu') y = g.op('Relu', [y]);
    return { name: y, c: cout, hw: { h: outH, w: outW } };
  };

  const visit = (name: string): Value => {
    const done = values.get(name);
    if (done) return done;
    const n = byName.get(name) ?? fail(`node ${name} missing`);
    if (n.op === 'Const') return fail(`constant ${name} used where a value is expected`);
    const inputs = (n.input ?? []).filter((i) => !i.startsWith('^'));
    let out: Value;
    switch (n.op) {
      case '_FusedConv2D':
      case 'FusedDepthwiseConv2dNative':
      case 'Conv2D':
      case 'DepthwiseConv2dNative': {
        const fused = (n.attr?.fused_ops?.list?.s ?? []).map(decode);
        if (fused.length > 2 || (fused[0] !== undefined && fused[0] !== 'BiasAdd') || (fused[1] !== undefined && fused[1] !== 'Relu')) fail(`${n.name} fuses ${fused.join('+')}`);
        out = conv(n, visit(inputs[0]!), n.op.includes('Depthwise'), fused);
        break;
      }
      case 'Relu':
      case 'Abs': {
        const x = visit(inputs[0]!);
        out = { ...x, name: g.op(n.op, [x.name]) };
        break;
      }
      case 'Add':
      case 'AddV2':
      case 'Sub':
      case 'Mul':
      case 'Maximum':
      case 'Minimum': {
        const [i0, i1] = inputs as [string, string];
        const onnxOp = { Add: 'Add', AddV2: 'Add', Sub: 'Sub', Mul: 'Mul', Maximum: 'Max', Minimum: 'Min' }[n.op]!;
        if (isConst(i0) && isConst(i1)) fail(`${n.name} has only constant inputs`);
        const like = isConst(i0) ? visit(i1) : visit(i0);
        const a = isConst(i0) ? constFor(i0, like) : visit(i0).name;
        const b = isConst(i1) ? constFor(i1, like) : visit(i1).name;
        out = { ...like, name: g.op(onnxOp, [a, b]) };
        break;
      }
      case 'Pad': {
        const x = visit(inputs[0]!);
        const p = tensor(inputs[1]!).data; // NHWC [[n0,n1],[h0,h1],[w0,w1],[c0,c1]]
        if (!x.hw || p[0] || p[1] || p[6] || p[7]) return fail(`${n.name} pads batch or channels`);
        const [t, b, l, r] = [p[2]!, p[3]!, p[4]!, p[5]!];
        out = { ...x, name: g.op('Pad', [x.name, g.int64Const([0, 0, t, l, 0, 0, b, r])]), hw: { h: x.hw.h + t + b, w: x.hw.w + l + r } };
        break;
      }
      case 'Squeeze':
      case 'Reshape': {
        // Flatten to [N, H·W·C] in TF's NHWC order, which the dense layer after it expects.
        const x = visit(inputs[0]!);
        if (!x.hw) return fail(`${n.name} reshapes a vector`);
        const nhwc = x.hw.h * x.hw.w > 1 ? g.op('Transpose', [x.name], { perm: ints([0, 2, 3, 1]) }) : x.name;
        out = { name: g.op('Flatten', [nhwc], { axis: int(1) }), c: x.c * x.hw.h * x.hw.w };
        break;
      }
      case 'MatMul': {
        const x = visit(inputs[0]!);
        const w = tensor(inputs[1]!);
        if (x.hw || w.shape[0] !== x.c) return fail(`${n.name}: dense of ${w.shape} on ${x.c} values`);
        out = { name: g.op('MatMul', [x.name, g.floatConst(w.data, w.shape)]), c: w.shape[1]! };
        break;
      }
      default:
        return fail(`op ${n.op} (${n.name}) is not supported`);
    }
    values.set(name, out);
    return out;
  };
  const result = visit(opts.outputNode);
  if (result.hw || result.c !== opts.outputDims) fail(`output ${opts.outputNode} has ${result.c} values, expected ${opts.outputDims}`);
  g.output(result.name, 'embedding', ['batch', opts.outputDims]);
  return g.toBytes();
}
