import onnxProto from 'onnx-proto';

// onnx-proto is CommonJS; its namespace object carries the message classes.
const { onnx } = onnxProto;

/** An ONNX attribute value; ints and floats are told apart explicitly because JS numbers are not. */
export type Attr =
  | { kind: 'int'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string };

export const int = (value: number): Attr => ({ kind: 'int', value });
export const ints = (value: number[]): Attr => ({ kind: 'ints', value });
export const float = (value: number): Attr => ({ kind: 'float', value });

/** Dimension of a graph input/output: a fixed size or a symbolic name (e.g. batch). */
export type Dim = number | string;

function toAttribute(name: string, attr: Attr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (attr.kind) {
    case 'int':
      return { name, type: T.INT, i: attr.value };
    case 'ints':
      return { name, type: T.INTS, ints: attr.value };
    case 'float':
      return { name, type: T.FLOAT, f: attr.value };
    case 'string':
      return { name, type: T.STRING, s: new TextEncoder().encode(attr.value) };
  }
}

function valueInfo(name: string, dims: Dim[], elemType: number = onnx.TensorProto.DataType.FLOAT): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/**
 * Minimal builder of an in-memory ONNX ModelProto: enough to express the small CNNs of the
 * default pack without a Python toolchain. Values are referenced by name, as in ONNX itself.
 */
export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private counter = 0;

  constructor(private readonly name: string, private readonly opset = 13) {}

  private fresh(prefix: string): string {
    this.counter += 1;
    return `${prefix}_${this.counter}`;
  }

  /** Declares a graph input (float32 unless told uint8). */
  input(name: string, dims: Dim[], type: 'float32' | 'uint8' = 'float32'): string {
    this.inputs.push(valueInfo(name, dims, type === 'uint8' ? onnx.TensorProto.DataType.UINT8 : onnx.TensorProto.DataType.FLOAT));
    return name;
  }

  /** Declares a float graph output, renaming `value` via Identity so the output name is stable. */
  output(value: string, name: string, dims: Dim[]): void {
    this.nodes.push({ opType: 'Identity', input: [value], output: [name], name: `${name}_out` });
    this.outputs.push(valueInfo(name, dims));
  }

  /** Adds a float32 initializer. */
  floatConst(data: Float32Array, dims: number[], prefix = 'const'): string {
    const name = this.fresh(prefix);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: bytes.slice() });
    return name;
  }

  /** Adds an int8 / uint8 / int32 initializer (quantised weights, zero points, biases). */
  intConst(data: Int8Array | Uint8Array | Int32Array, dims: number[], prefix = 'q'): string {
    const name = this.fresh(prefix);
    const T = onnx.TensorProto.DataType;
    const dataType = data instanceof Int8Array ? T.INT8 : data instanceof Uint8Array ? T.UINT8 : T.INT32;
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push({ name, dims, dataType, rawData: bytes.slice() });
    return name;
  }

  /** Adds an int64 initializer (shapes, pads, slice bounds). */
  int64Const(values: number[], prefix = 'i64'): string {
    const name = this.fresh(prefix);
    const data = new BigInt64Array(values.map((v) => BigInt(v)));
    this.initializers.push({
      name,
      dims: [values.length],
      dataType: onnx.TensorProto.DataType.INT64,
      rawData: new Uint8Array(data.buffer),
    });
    return name;
  }

  /** Adds one node with a single output and returns the output's name. */
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}): string {
    const out = this.fresh(opType.toLowerCase());
    this.nodes.push({
      opType,
      name: out,
      input: inputs,
      output: [out],
      attribute: Object.entries(attrs).map(([k, v]) => toAttribute(k, v)),
    });
    return out;
  }

  /** Serialises the model to protobuf bytes ready for onnxruntime. */
  toBytes(): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 7,
      producerName: 'facepass',
      opsetImport: [{ domain: '', version: this.opset }],
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

/**
 * TensorFlow 'SAME' padding as explicit ONNX pads [top, left, bottom, right]: TF puts the odd
 * pixel at the end, which ONNX's auto_pad SAME_UPPER also does, but explicit pads keep the graph
 * independent of runtime quirks.
 */
export function samePads(inH: number, inW: number, k: number, stride: number): { pads: number[]; outH: number; outW: number } {
  const outH = Math.ceil(inH / stride);
  const outW = Math.ceil(inW / stride);
  const padH = Math.max((outH - 1) * stride + k - inH, 0);
  const padW = Math.max((outW - 1) * stride + k - inW, 0);
  const top = Math.floor(padH / 2);
  const left = Math.floor(padW / 2);
  return { pads: [top, left, padH - top, padW - left], outH, outW };
}

/** TF HWIO conv filter → ONNX OIHW. */
export function hwioToOihw(w: Float32Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let h = 0; h < kh; h++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++)
          out[((o * cin + i) * kh + h) * kw + x] = w[((h * kw + x) * cin + i) * cout + o]!;
  return out;
}

/** TF depthwise filter HWC1 → ONNX grouped conv weight C×1×H×W. */
export function hwc1ToC1hw(w: Float32Array, kh: number, kw: number, c: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let h = 0; h < kh; h++)
    for (let x = 0; x < kw; x++)
      for (let ch = 0; ch < c; ch++) out[(ch * kh + h) * kw + x] = w[(h * kw + x) * c + ch]!;
  return out;
}
