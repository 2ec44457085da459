/**
 * TF Object Detection's `ssd_anchor_generator` (multiple_grid_anchor_generator.create_ssd_anchors)
 * with face-api's SSD-MobileNetV1 configuration, so the detector can run at input sizes other than
 * the 512 its stored anchors were made for. Regenerating 512 reproduces the stored `Output/extra_dim`
 * (tested).
 */

/** face-api's anchor configuration (TF-OD ssd_anchor_generator). */
const NUM_LAYERS = 6;
const MIN_SCALE = 0.2;
const MAX_SCALE = 0.95;
// 0.3333 (not 1/3) as written in TF-OD's SSD configs; the stored anchors carry it.
const ASPECT_RATIOS = [1, 2, 0.5, 3, 0.3333];
const INTERPOLATED_SCALE_ASPECT_RATIO = 1;

/**
 * Feature-map sides of the six SSD sources (Conv2d_11, Conv2d_13, then Prediction 1, 3, 5, 7) for
 * a square input: strides 16, 32 and then ×2 each, TF 'SAME' padding (ceil).
 */
export function ssdFeatureMapSizes(inputSize: number): number[] {
  let s = inputSize;
  const down = (): number => (s = Math.ceil(s / 2));
  for (let i = 0; i < 4; i++) down(); // Conv2d_0 and depthwise 2, 4, 6: stride 16 at Conv2d_11
  const sizes = [s];
  down(); // depthwise 12
  sizes.push(s);
  for (let i = 0; i < 4; i++) sizes.push(down());
  return sizes;
}

/**
 * (scale, aspect ratio) of the lowest layer's boxes (TF-OD reduce_boxes_in_lowest_layer): a 0.1
 * square and two boxes of the first layer scale (MIN_SCALE), aspect ratios 2 and 1/2.
 */
const LOWEST_LAYER_BOXES: [number, number][] = [[0.1, 1], [MIN_SCALE, 2], [MIN_SCALE, 0.5]];

/** Anchors per location of each layer: 3 in the lowest (reduce_boxes_in_lowest_layer), else 6. */
export function ssdAnchorsPerLocation(): number[] {
  return Array.from({ length: NUM_LAYERS }, (_, i) => (i === 0 ? 3 : ASPECT_RATIOS.length + 1));
}

/** Number of anchors (= rows of the SSD outputs) for a square input. */
export function ssdAnchorCount(inputSize: number): number {
  const per = ssdAnchorsPerLocation();
  return ssdFeatureMapSizes(inputSize).reduce((n, s, i) => n + s * s * per[i]!, 0);
}

/** Options of {@link generateSsdAnchors}: TF-OD's MultipleGridAnchorGenerator parameters. */
export interface SsdAnchorOptions {
  /** `base_anchor_size` (square): anchor sides are scale × this, in units of the input. @defaultValue 1 */
  baseAnchorSize?: number;
  /** `anchor_strides` per layer (normalised, square). @defaultValue 1 / feature-map side */
  strides?: number[];
  /** `anchor_offsets` per layer (normalised). @defaultValue half the stride */
  offsets?: number[];
}

/**
 * Anchors as (ymin, xmin, ymax, xmax) in 0..1, in TF's order: layer, then row, column, box spec.
 * Computed in float32 steps like TF so the result matches the stored anchors to ~1e-7.
 */
export function generateSsdAnchors(inputSize: number, opts: SsdAnchorOptions = {}): Float32Array {
  const f = Math.fround;
  const sizes = ssdFeatureMapSizes(inputSize);
  const base = f(opts.baseAnchorSize ?? 1);
  const scales = Array.from({ length: NUM_LAYERS }, (_, i) => f(MIN_SCALE + ((MAX_SCALE - MIN_SCALE) * i) / (NUM_LAYERS - 1)));
  scales.push(1);
  const out = new Float32Array(ssdAnchorCount(inputSize) * 4);
  let o = 0;
  sizes.forEach((side, layer) => {
    const scale = scales[layer]!;
    // (scale, aspect ratio) per box at every location.
    const specs: [number, number][] =
      layer === 0
        ? LOWEST_LAYER_BOXES
        : ASPECT_RATIOS.flatMap((ar): [number, number][] =>
            // TF-OD as of face-api's export: the interpolated-scale box follows aspect ratio 1.0
            // (later TF versions append it at the end instead).
            ar === 1 ? [[scale, ar], [f(Math.sqrt(scale * scales[layer + 1]!)), INTERPOLATED_SCALE_ASPECT_RATIO]] : [[scale, ar]],
          );
    const stride = f(opts.strides?.[layer] ?? 1 / side);
    const offset = f(opts.offsets?.[layer] ?? 0.5 * stride);
    for (let y = 0; y < side; y++) {
      const cy = f(f(y * stride) + offset);
      for (let x = 0; x < side; x++) {
        const cx = f(f(x * stride) + offset);
        for (const [s, ar] of specs) {
          const r = f(Math.sqrt(ar));
          const h = f(f(f(s) / r) * base);
          const w = f(f(f(s) * r) * base);
          out[o++] = f(cy - f(0.5 * h));
          out[o++] = f(cx - f(0.5 * w));
          out[o++] = f(cy + f(0.5 * h));
          out[o++] = f(cx + f(0.5 * w));
        }
      }
    }
  });
  return out;
}

/** Input side face-api's SSD was trained and exported at (its stored anchors are for this size). */
export const SSD_TRAINED_INPUT_SIZE = 512;

/**
 * Anchors for running face-api's SSD at another input side. The network regresses box sizes in
 * the pixel units it was trained at, so the anchors keep their 512-input pixel sizes
 * (`base_anchor_size` = 512 / side) while their centres follow the smaller feature maps (TF's
 * default strides). With plain normalised anchors every box would come out shrunk by side / 512.
 * At 512 this is exactly the stored set.
 */
export function faceApiSsdAnchors(inputSize: number): Float32Array {
  return generateSsdAnchors(inputSize, { baseAnchorSize: SSD_TRAINED_INPUT_SIZE / inputSize });
}

/** Stride of the lowest SSD layer (Conv2d_11) in input pixels. */
export const SSD_LOWEST_LAYER_STRIDE = 16;

/**
 * Anchors of the lowest SSD layer alone for a height×width input (multiples of 16), in input
 * pixels as (ymin, xmin, ymax, xmax), in the network's output order (row, column, box): what the
 * tile build (`buildSsdTileGraph`) decodes against. Same pixel sizes and grid as the lowest layer
 * of face-api's 512 anchors, so at 512×512 they are those anchors × 512.
 */
export function ssdLowestLayerAnchorsPx(height: number, width: number): Float32Array {
  const S = SSD_LOWEST_LAYER_STRIDE;
  if (height % S || width % S) throw new RangeError(`tile ${width}×${height} is not a multiple of ${S}`);
  const rows = height / S, cols = width / S;
  const out = new Float32Array(rows * cols * LOWEST_LAYER_BOXES.length * 4);
  let o = 0;
  for (let y = 0; y < rows; y++) {
    const cy = (y + 0.5) * S;
    for (let x = 0; x < cols; x++) {
      const cx = (x + 0.5) * S;
      for (const [s, ar] of LOWEST_LAYER_BOXES) {
        const r = Math.sqrt(ar);
        const h = (s / r) * SSD_TRAINED_INPUT_SIZE, w = s * r * SSD_TRAINED_INPUT_SIZE;
        out[o++] = cy - h / 2;
        out[o++] = cx - w / 2;
        out[o++] = cy + h / 2;
        out[o++] = cx + w / 2;
      }
    }
  }
  return out;
}
