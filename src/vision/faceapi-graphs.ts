import { getTensor, type FaceApiWeights } from './faceapi-weights.js';
import { GraphBuilder, hwc1ToC1hw, hwioToOihw, int, ints, samePads, type Dim } from './onnx-graph-builder.js';
import { ssdAnchorCount, ssdFeatureMapSizes } from './ssd-anchors.js';

/**
 * Rebuilds face-api's three networks (SSD-MobileNetV1, 68-landmark net, ResNet-34-ish
 * recogniser) as ONNX graphs. Structure follows face-api's tfjs code; weights are the
 * dequantised npm weights. All graphs take raw RGB pixels 0..255 in NHWC layout (as face-api
 * does) and transpose once to ONNX's NCHW, so callers never reorder pixels.
 */

/** Bumped whenever graph construction changes, so cached .onnx files are rebuilt. */
export const GRAPH_VERSION = 'v3';

interface Feature {
  name: string;
  c: number;
  h: number;
  w: number;
  /** Set when `name` is a uint8 tensor: real value = (q - zeroPoint) * scale. */
  q?: { scale: number; zeroPoint: number };
}

class NetBuilder {
  readonly g: GraphBuilder;
  private clipBounds: [string, string] | undefined;

  /**
   * `int8`: emit QDQ pairs (uint8 activations, per-channel int8 weights) that onnxruntime fuses
   * into integer convolutions; only the SSD uses it (its ReLU6 activations have a known range).
   */
  constructor(name: string, readonly weights: FaceApiWeights, private readonly int8 = false) {
    this.g = new GraphBuilder(name);
  }

  /**
   * uint8 pixels in space-to-depth layout [N, H/2, W/2, 12] (each 2×2 block's RGB, row-major: see
   * `spaceToDepthFilter`), read directly as quantised values: real = (q - 128) / 127.5, i.e.
   * face-api's x / 127.5 - 1 shifted by half a grey level. Saves the float copy, normalisation and
   * QuantizeLinear of every tile. `h`/`w` are the pixel sides (even); a symbolic side is declared
   * as such and shapes are tracked at `nominal` pixels (see buildSsdTileGraph).
   */
  spaceToDepthUint8Input(h: Dim, w: Dim, nominal: number): Feature {
    const half = (d: Dim): Dim => (typeof d === 'number' ? d / 2 : `${d}/2`);
    const x = this.g.input('input', ['N', half(h), half(w), 12], 'uint8');
    const t = this.g.op('Transpose', [x], { perm: ints([0, 3, 1, 2]) });
    const size = (d: Dim): number => (typeof d === 'number' ? d : nominal) / 2;
    return { name: t, c: 12, h: size(h), w: size(w), q: { scale: 1 / 127.5, zeroPoint: 128 } };
  }

  /** Quantises a float feature to uint8 (QuantizeLinear); identity when not building int8. */
  quantize(x: Feature, scale: number, zeroPoint: number): Feature {
    if (!this.int8) return x;
    const s = this.g.floatConst(new Float32Array([scale]), [], 'qs');
    const z = this.g.intConst(new Uint8Array([zeroPoint]), [], 'qz');
    return { ...x, name: this.g.op('QuantizeLinear', [x.name, s, z]), q: { scale, zeroPoint } };
  }

  /** The float view of a feature (DequantizeLinear when it is quantised). */
  float(x: Feature): string {
    if (!x.q) return x.name;
    const s = this.g.floatConst(new Float32Array([x.q.scale]), [], 'qs');
    const z = this.g.intConst(new Uint8Array([x.q.zeroPoint]), [], 'qz');
    return this.g.op('DequantizeLinear', [x.name, s, z]);
  }

  /** NHWC raw-pixel input, normalised per channel: (x - sub) * mul; symbolic sides as above. */
  nhwcInput(h: Dim, w: Dim, sub: number[], mul: number, nominal = 0): Feature {
    const x = this.g.input('input', ['N', h, w, 3]);
    const t = this.g.op('Transpose', [x], { perm: ints([0, 3, 1, 2]) });
    const s = this.g.op('Sub', [t, this.g.floatConst(new Float32Array(sub), [1, 3, 1, 1], 'mean')]);
    const m = this.g.op('Mul', [s, this.g.floatConst(new Float32Array([mul]), [], 'scale')]);
    return { name: m, c: 3, h: typeof h === 'number' ? h : nominal, w: typeof w === 'number' ? w : nominal };
  }

  /**
   * Conv with TF semantics. `filter` is HWIO (or HWC1 when depthwise); optional per-output-channel
   * `scale` is folded into the weights and bias (batch-norm / dlib scale layers).
   */
  conv(
    x: Feature,
    filter: Float32Array,
    k: number,
    cout: number,
    opts: { stride?: number; padding?: 'same' | 'valid'; depthwise?: boolean; bias?: Float32Array; scale?: Float32Array; floatWeights?: boolean },
  ): Feature {
    const stride = opts.stride ?? 1;
    let pads = [0, 0, 0, 0];
    let outH = Math.floor((x.h - k) / stride) + 1;
    let outW = Math.floor((x.w - k) / stride) + 1;
    if ((opts.padding ?? 'same') === 'same') ({ pads, outH, outW } = samePads(x.h, x.w, k, stride));
    const w = opts.depthwise ? hwc1ToC1hw(filter, k, k, x.c) : hwioToOihw(filter, k, k, x.c, cout);
    const perOut = w.length / cout;
    const bias = new Float32Array(cout);
    if (opts.bias) bias.set(opts.bias);
    if (opts.scale) {
      for (let o = 0; o < cout; o++) {
        const s = opts.scale[o]!;
        for (let i = 0; i < perOut; i++) w[o * perOut + i]! *= s;
      }
    }
    const wDims = opts.depthwise ? [cout, 1, k, k] : [cout, x.c, k, k];
    let wName: string, bName: string;
    if (x.q && !opts.floatWeights) {
      ({ wName, bName } = this.int8Weights(w, bias, wDims, x.q.scale));
    } else {
      wName = this.g.floatConst(w, wDims, 'w');
      bName = this.g.floatConst(bias, [cout], 'b');
    }
    const out = this.g.op('Conv', [this.float(x), wName, bName], {
      kernel_shape: ints([k, k]),
      strides: ints([stride, stride]),
      pads: ints(pads),
      group: int(opts.depthwise ? x.c : 1),
    });
    return { name: out, c: cout, h: outH, w: outW };
  }

  /**
   * Symmetric per-output-channel int8 weights and int32 bias (scale = input scale × weight
   * scale), each behind a DequantizeLinear: the QDQ form onnxruntime turns into QLinearConv.
   */
  private int8Weights(w: Float32Array, bias: Float32Array, dims: number[], inScale: number): { wName: string; bName: string } {
    const cout = dims[0]!;
    const perOut = w.length / cout;
    const qw = new Int8Array(w.length);
    const ws = new Float32Array(cout);
    const qb = new Int32Array(cout);
    for (let o = 0; o < cout; o++) {
      let m = 0;
      for (let i = 0; i < perOut; i++) m = Math.max(m, Math.abs(w[o * perOut + i]!));
      ws[o] = m > 0 ? m / 127 : 1;
      for (let i = 0; i < perOut; i++) qw[o * perOut + i] = Math.max(-127, Math.min(127, Math.round(w[o * perOut + i]! / ws[o]!)));
      qb[o] = Math.round(bias[o]! / (inScale * ws[o]!));
    }
    const bs = new Float32Array(cout);
    for (let o = 0; o < cout; o++) bs[o] = inScale * ws[o]!;
    const axis = { axis: int(0) };
    const wName = this.g.op('DequantizeLinear', [this.g.intConst(qw, dims, 'qw'), this.g.floatConst(ws, [cout], 'qws'), this.g.intConst(new Int8Array(cout), [cout], 'qwz')], axis);
    const bName = this.g.op('DequantizeLinear', [this.g.intConst(qb, [cout], 'qb'), this.g.floatConst(bs, [cout], 'qbs'), this.g.intConst(new Int32Array(cout), [cout], 'qbz')], axis);
    return { wName, bName };
  }

  relu(x: Feature): Feature {
    return { ...x, name: this.g.op('Relu', [x.name]) };
  }

  relu6(x: Feature): Feature {
    // Clip takes its bounds as inputs since opset 11; create them once, on first use.
    this.clipBounds ??= [
      this.g.floatConst(new Float32Array([0]), [], 'zero'),
      this.g.floatConst(new Float32Array([6]), [], 'six'),
    ];
    // int8: the uint8 range [0, 6] is exactly ReLU6's, so onnxruntime drops the Clip.
    return this.quantize({ ...x, name: this.g.op('Clip', [x.name, ...this.clipBounds]) }, 6 / 255, 0);
  }

  add(a: Feature, b: Feature): Feature {
    return { ...a, name: this.g.op('Add', [a.name, b.name]) };
  }

  t(name: string, shape?: number[]): Float32Array {
    return getTensor(this.weights, name, shape).data;
  }
}

// ---------------------------------------------------------------- SSD MobileNetV1

const BN_EPSILON = 0.0010000000474974513;

/** SSD input size; face-api pads the image to a square at bottom/right, then resizes to this. */
export const SSD_INPUT_SIZE = 512;

/**
 * Input side of the cheaper detector used for selfies (one large face): the same weights at
 * 256×256 cost about a quarter of the 512 graph; anchors come from `faceApiSsdAnchors(256)`.
 * 256 beat 320 and 224 on johns selfies: face-api's SSD scores square faces of ~110..140 input
 * pixels poorly (between the lowest layer's 51 px and the next layer's 179 px square anchors), and
 * at 320 a face filling ~37 % of the frame lands there, forcing a second pass on half the selfies.
 */
export const SSD_SELFIE_INPUT_SIZE = 256;

/** Sides of the tile build's input must be multiples of this (even at every stride-2 layer). */
export const SSD_TILE_ALIGN = 32;

/**
 * Conv2d_0 (3×3, stride 2, 3 → 32) rewritten for space-to-depth input: a 2×2 stride-1 conv over
 * 2×2 pixel blocks (12 channels, index (2a + b) × 3 + c for block row a, column b, colour c), with
 * zeros where the 3×3 kernel does not reach. Same sums as the original; onnxruntime's int8 conv
 * runs it ~3× faster than the 3-channel original, which was a fifth of the whole network's time.
 */
function spaceToDepthFilter(hwio: Float32Array, cout: number): Float32Array {
  const out = new Float32Array(2 * 2 * 12 * cout);
  for (let bi = 0; bi < 2; bi++)
    for (let bj = 0; bj < 2; bj++)
      for (let a = 0; a < 2; a++)
        for (let b = 0; b < 2; b++) {
          const ky = 2 * bi + a, kx = 2 * bj + b;
          if (ky > 2 || kx > 2) continue;
          for (let c = 0; c < 3; c++)
            for (let o = 0; o < cout; o++) out[((bi * 2 + bj) * 12 + (2 * a + b) * 3 + c) * cout + o] = hwio[((ky * 3 + kx) * 3 + c) * cout + o]!;
        }
  return out;
}

/** Which part of the SSD a build holds. */
interface SsdBuild {
  name: string;
  /** Pixel sides; symbolic for the tile build. */
  h: Dim;
  w: Dim;
  int8: boolean;
  /** Only the lowest layer (Conv2d_11) and its box predictor. */
  lowestLayerOnly: boolean;
}

function buildSsd(weights: FaceApiWeights, b: SsdBuild, numAnchors: Dim): Uint8Array {
  const nb = new NetBuilder(b.name, weights, b.int8);
  // Symbolic sides are tracked at a nominal size: every pad below depends only on the parity of
  // the input at each stride-2 layer, which is even for any multiple of SSD_TILE_ALIGN.
  const nominal = 1024;
  const pointwise = (f: Feature, prefix: string, idx: number, stride: number): Feature => {
    const wt = getTensor(weights, `${prefix}/Conv2d_${idx}_pointwise/weights`);
    const [k, , , cout] = wt.shape as [number, number, number, number];
    const bias = nb.t(`${prefix}/Conv2d_${idx}_pointwise/convolution_bn_offset`);
    return nb.relu6(nb.conv(f, wt.data, k, cout, { stride, bias }));
  };
  const depthwise = (f: Feature, idx: number, stride: number): Feature => {
    const p = `MobilenetV1/Conv2d_${idx}_depthwise`;
    const gamma = nb.t(`${p}/BatchNorm/gamma`);
    const beta = nb.t(`${p}/BatchNorm/beta`);
    const mean = nb.t(`${p}/BatchNorm/moving_mean`);
    const variance = nb.t(`${p}/BatchNorm/moving_variance`);
    // Fold inference batch norm into the depthwise conv: y = (x*w - mean) * g/sqrt(v+eps) + beta.
    const scale = new Float32Array(f.c);
    const bias = new Float32Array(f.c);
    for (let c = 0; c < f.c; c++) {
      scale[c] = gamma[c]! / Math.sqrt(variance[c]! + BN_EPSILON);
      bias[c] = beta[c]! - mean[c]! * scale[c]!;
    }
    const wt = nb.t(`${p}/depthwise_weights`, [3, 3, f.c, 1]);
    return nb.relu6(nb.conv(f, wt, 3, f.c, { stride, depthwise: true, bias, scale }));
  };

  let x: Feature;
  if (b.int8) {
    const wt = getTensor(weights, 'MobilenetV1/Conv2d_0_pointwise/weights');
    const cout = wt.shape[3]!;
    const bias = nb.t('MobilenetV1/Conv2d_0_pointwise/convolution_bn_offset');
    x = nb.relu6(nb.conv(nb.spaceToDepthUint8Input(b.h, b.w, nominal), spaceToDepthFilter(wt.data, cout), 2, cout, { bias }));
  } else {
    // face-api: x / 127.5 - 1.
    x = pointwise(nb.nhwcInput(b.h, b.w, [127.5, 127.5, 127.5], 1 / 127.5, nominal), 'MobilenetV1', 0, 2);
  }
  let conv11: Feature | undefined;
  for (let i = 1; i <= (b.lowestLayerOnly ? 11 : 13); i++) {
    x = depthwise(x, i, [2, 4, 6, 12].includes(i) ? 2 : 1);
    x = pointwise(x, 'MobilenetV1', i, 1);
    if (i === 11) conv11 = x;
  }
  if (!conv11) throw new Error('unreachable');
  let sources = [conv11];
  if (!b.lowestLayerOnly) {
    const c0 = pointwise(x, 'Prediction', 0, 1);
    const c1 = pointwise(c0, 'Prediction', 1, 2);
    const c2 = pointwise(c1, 'Prediction', 2, 1);
    const c3 = pointwise(c2, 'Prediction', 3, 2);
    const c4 = pointwise(c3, 'Prediction', 4, 1);
    const c5 = pointwise(c4, 'Prediction', 5, 2);
    const c6 = pointwise(c5, 'Prediction', 6, 1);
    const c7 = pointwise(c6, 'Prediction', 7, 2);
    sources = [conv11, x, c1, c3, c5, c7];
  }
  if (typeof b.h === 'number' && typeof b.w === 'number' && b.h === b.w) {
    const expected = ssdFeatureMapSizes(b.h);
    if (sources.some((f, i) => f.h !== expected[i] || f.w !== expected[i])) {
      throw new Error(`SSD feature maps ${sources.map((f) => f.h).join(',')} differ from the anchor layout ${expected.join(',')}`);
    }
  }
  const boxShape = nb.g.int64Const([0, -1, 4], 'shape');
  const clsShape = nb.g.int64Const([0, -1, 3], 'shape');
  const boxes: string[] = [];
  const classes: string[] = [];
  sources.forEach((src, i) => {
    const head = (kind: string, shape: string): string => {
      const p = `Prediction/BoxPredictor_${i}/${kind}`;
      const wt = getTensor(weights, `${p}/weights`);
      const cout = wt.shape[3]!;
      // Heads stay float: they are a sliver of the FLOPs and their outputs are the boxes.
      const y = nb.conv(src, wt.data, 1, cout, { bias: nb.t(`${p}/biases`), floatWeights: true });
      // TF flattens NHWC as (h, w, anchor, value): transpose back before reshaping.
      const nhwc = nb.g.op('Transpose', [y.name], { perm: ints([0, 2, 3, 1]) });
      return nb.g.op('Reshape', [nhwc, shape]);
    };
    boxes.push(head('BoxEncodingPredictor', boxShape));
    classes.push(head('ClassPredictor', clsShape));
  });
  const boxAll = boxes.length > 1 ? nb.g.op('Concat', boxes, { axis: int(1) }) : boxes[0]!;
  const clsAll = classes.length > 1 ? nb.g.op('Concat', classes, { axis: int(1) }) : classes[0]!;
  const faceLogit = nb.g.op('Slice', [clsAll, nb.g.int64Const([1]), nb.g.int64Const([2]), nb.g.int64Const([2])]);
  const scores = nb.g.op('Sigmoid', [nb.g.op('Squeeze', [faceLogit, nb.g.int64Const([2])])]);
  nb.g.output(boxAll, 'box_encodings', ['N', numAnchors, 4]);
  nb.g.output(scores, 'scores', ['N', numAnchors]);
  return nb.g.toBytes();
}

/**
 * The whole SSD for a square input of `inputSize`. Input `input`: float32 NHWC [N,S,S,3] raw RGB
 * 0..255, or for the `int8` build (QDQ: uint8 activations, per-channel int8 weights, float heads;
 * ~2.5× faster on CPU with the same detections) uint8 pixels in space-to-depth layout
 * [N,S/2,S/2,12] (`packSsdInput` in ssd-detector.ts). Outputs: `box_encodings` [N,A,4]
 * (ty,tx,th,tw per anchor) and `scores` [N,A] (sigmoid of the face class), in face-api's anchor
 * order; A = 5118 at 512 (`ssdAnchorCount`). The network is fully convolutional, so other square
 * sizes use the same weights with anchors generated for their feature maps (`faceApiSsdAnchors`).
 * Decoding lives in ssd-detector.ts.
 */
export function buildSsdGraph(weights: FaceApiWeights, inputSize = SSD_INPUT_SIZE, int8 = false): Uint8Array {
  const base = inputSize === SSD_INPUT_SIZE ? 'ssd_mobilenetv1' : `ssd_mobilenetv1_${inputSize}`;
  return buildSsd(weights, { name: int8 ? `${base}_int8` : base, h: inputSize, w: inputSize, int8, lowestLayerOnly: false }, ssdAnchorCount(inputSize));
}

/**
 * The tile build for photo-mode passes: the network up to Conv2d_11 and the lowest layer's box
 * predictor only, on any H×W input (multiples of SSD_TILE_ALIGN; same input layouts as
 * buildSsdGraph). A tiled pass is only responsible for faces up to ~3× the smallest (≤ ~100 px of
 * its scale; coarser passes see larger ones), which the lowest layer's 51..145 px anchors cover
 * alone — measured on dlib's faces: same recall as the whole SSD up to 96 px. Skipping the upper
 * layers saves ~15 % of the work, and free tile shapes cut the overlap. Anchors:
 * `ssdLowestLayerAnchorsPx(H, W)`.
 */
export function buildSsdTileGraph(weights: FaceApiWeights, int8 = true): Uint8Array {
  return buildSsd(weights, { name: int8 ? 'ssd_mobilenetv1_tile_int8' : 'ssd_mobilenetv1_tile', h: 'H', w: 'W', int8, lowestLayerOnly: true }, 'A');
}
/** face-api's SSD anchors [5118,4] as (ymin, xmin, ymax, xmax) in 0..1, stored with the weights. */
export function ssdAnchors(weights: FaceApiWeights): Float32Array {
  return getTensor(weights, 'Output/extra_dim', [1, 5118, 4]).data;
}

// ---------------------------------------------------------------- 68-point landmarks

/** Landmark net input size (face crop padded to a centred square, resized). */
export const LANDMARK_INPUT_SIZE = 112;

/** dlib/face-api mean RGB subtracted before the landmark and recognition nets. */
const MEAN_RGB = [122.782, 117.001, 104.298];

/** Output `landmarks` [N,136]: interleaved x,y in 0..1 of the square input. */
export function buildLandmarkGraph(weights: FaceApiWeights): Uint8Array {
  const nb = new NetBuilder('face_landmark_68', weights);
  let x = nb.nhwcInput(LANDMARK_INPUT_SIZE, LANDMARK_INPUT_SIZE, MEAN_RGB, 1 / 255);

  const sep = (f: Feature, p: string, stride: number): Feature => {
    const dw = getTensor(weights, `${p}/depthwise_filter`);
    const pw = getTensor(weights, `${p}/pointwise_filter`);
    const cout = pw.shape[3]!;
    const d = nb.conv(f, dw.data, 3, f.c, { stride, depthwise: true });
    return nb.conv(d, pw.data, 1, cout, { bias: nb.t(`${p}/bias`) });
  };

  for (let b = 0; b < 4; b++) {
    const p = `dense${b}`;
    let out1: Feature;
    if (b === 0) {
      const wt = getTensor(weights, `${p}/conv0/filters`);
      out1 = nb.relu(nb.conv(x, wt.data, 3, wt.shape[3]!, { stride: 2, bias: nb.t(`${p}/conv0/bias`) }));
    } else {
      out1 = nb.relu(sep(x, `${p}/conv0`, 2));
    }
    const out2 = sep(out1, `${p}/conv1`, 1);
    const in3 = nb.relu(nb.add(out1, out2));
    const out3 = sep(in3, `${p}/conv2`, 1);
    // Same association order as face-api: out1 + (out2 + out3).
    const in4 = nb.relu(nb.add(out1, nb.add(out2, out3)));
    const out4 = sep(in4, `${p}/conv3`, 1);
    x = nb.relu(nb.add(out1, nb.add(out2, nb.add(out3, out4))));
  }
  const pooled = nb.g.op('AveragePool', [x.name], { kernel_shape: ints([7, 7]), strides: ints([2, 2]) });
  const flat = nb.g.op('Flatten', [pooled], { axis: int(1) });
  const fcW = nb.g.floatConst(nb.t('fc/weights', [256, 136]), [256, 136], 'fc_w');
  const fcB = nb.g.floatConst(nb.t('fc/bias', [136]), [136], 'fc_b');
  const out = nb.g.op('Add', [nb.g.op('MatMul', [flat, fcW]), fcB]);
  nb.g.output(out, 'landmarks', ['N', 136]);
  return nb.g.toBytes();
}

// ---------------------------------------------------------------- ResNet recogniser

/** Recogniser input size: dlib's 150×150 face chip. */
export const RECOGNITION_INPUT_SIZE = 150;

/** Output `descriptor` [N,128]: dlib's face descriptor (not normalised; norm is ~0.4..0.6). */
export function buildRecognitionGraph(weights: FaceApiWeights): Uint8Array {
  const nb = new NetBuilder('face_recognition', weights);
  const x0 = nb.nhwcInput(RECOGNITION_INPUT_SIZE, RECOGNITION_INPUT_SIZE, MEAN_RGB, 1 / 255);

  const convLayer = (f: Feature, p: string, stride: number, padding: 'same' | 'valid', relu: boolean): Feature => {
    const wt = getTensor(weights, `${p}/conv/filters`);
    const cout = wt.shape[3]!;
    const scale = nb.t(`${p}/scale/weights`);
    const sBias = nb.t(`${p}/scale/biases`);
    const cBias = nb.t(`${p}/conv/bias`);
    // (conv + b) * s + sb  ==  conv*s + (b*s + sb)
    const bias = new Float32Array(cout);
    for (let o = 0; o < cout; o++) bias[o] = cBias[o]! * scale[o]! + sBias[o]!;
    const y = nb.conv(f, wt.data, wt.shape[0]!, cout, { stride, padding, bias, scale });
    return relu ? nb.relu(y) : y;
  };
  const residual = (f: Feature, p: string): Feature => {
    const a = convLayer(f, `${p}/conv1`, 1, 'same', true);
    const b = convLayer(a, `${p}/conv2`, 1, 'same', false);
    return nb.relu(nb.add(b, f));
  };
  const residualDown = (f: Feature, p: string): Feature => {
    const a = convLayer(f, `${p}/conv1`, 2, 'valid', true);
    let b = convLayer(a, `${p}/conv2`, 1, 'same', false);
    let pooled: Feature = {
      name: nb.g.op('AveragePool', [f.name], { kernel_shape: ints([2, 2]), strides: ints([2, 2]) }),
      c: f.c,
      h: Math.floor((f.h - 2) / 2) + 1,
      w: Math.floor((f.w - 2) / 2) + 1,
    };
    if (pooled.h !== b.h || pooled.w !== b.w) {
      // face-api appends one zero row and column to the conv branch when the sizes differ.
      const dh = pooled.h - b.h;
      const dw = pooled.w - b.w;
      const pads = nb.g.int64Const([0, 0, 0, 0, 0, 0, dh, dw]);
      b = { ...b, name: nb.g.op('Pad', [b.name, pads]), h: pooled.h, w: pooled.w };
    }
    if (pooled.c !== b.c) {
      // The shortcut gets zero channels appended (dlib's "add_prev" with zero padding).
      const pads = nb.g.int64Const([0, 0, 0, 0, 0, b.c - pooled.c, 0, 0]);
      pooled = { ...pooled, name: nb.g.op('Pad', [pooled.name, pads]), c: b.c };
    }
    return nb.relu(nb.add(pooled, b));
  };

  let x = convLayer(x0, 'conv32_down', 2, 'valid', true);
  x = {
    name: nb.g.op('MaxPool', [x.name], { kernel_shape: ints([3, 3]), strides: ints([2, 2]) }),
    c: x.c,
    h: Math.floor((x.h - 3) / 2) + 1,
    w: Math.floor((x.w - 3) / 2) + 1,
  };
  for (const p of ['conv32_1', 'conv32_2', 'conv32_3']) x = residual(x, p);
  x = residualDown(x, 'conv64_down');
  for (const p of ['conv64_1', 'conv64_2', 'conv64_3']) x = residual(x, p);
  x = residualDown(x, 'conv128_down');
  for (const p of ['conv128_1', 'conv128_2']) x = residual(x, p);
  x = residualDown(x, 'conv256_down');
  for (const p of ['conv256_1', 'conv256_2']) x = residual(x, p);
  x = residualDown(x, 'conv256_down_out');
  const gap = nb.g.op('Flatten', [nb.g.op('GlobalAveragePool', [x.name])], { axis: int(1) });
  const fc = nb.g.floatConst(nb.t('fc', [256, 128]), [256, 128], 'fc');
  nb.g.output(nb.g.op('MatMul', [gap, fc]), 'descriptor', ['N', 128]);
  return nb.g.toBytes();
}

