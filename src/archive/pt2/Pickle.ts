/**
 * The pickle data of a `.pt2` archive's torchbind custom objects (`data/constants/custom_obj_<i>`), read and
 * written. Pickle data is parsed, never executed: no global is ever resolved to code.
 *
 * A custom object is what `torch._C._pickle_save` writes (`torch/export/pt2_archive/_package.py`,
 * `_package_constants`): a small PyTorch zip whose `data.pkl` is a protocol-2 pickle of
 * `<Class>.__new__()` followed by `BUILD` with `__getstate__()`. Reading plays the part of
 * `torch._C._pickle_load_obj` (`torch/csrc/jit/serialization/unpickler.cpp`, `Unpickler::readInstruction`
 * and `readGlobal`); writing reproduces `Pickler::pushIValue` (`pickler.cpp`) for an object with `def_pickle`
 * whose state is a `List[str]`, byte for byte.
 *
 * The decoder is an allow-list. It knows the opcodes torch's pickler emits for such objects (plus a few
 * trivial string and bytes forms) and three kinds of global: `__torch__.torch.classes.<ns>.<Class>`
 * (a torchbind class), `torch.jit._pickle.restore_type_tag` and `torch.jit._pickle.build_intlist`. Every
 * other opcode or global, a malformed or truncated stream, and every resource abuse is a `BadPickle`
 * {@link ArchiveError} located at the offending opcode's byte offset. The decoder is one loop over the
 * bytes (no recursion), checks every length against the bytes that remain before taking them, never lets a
 * container hold itself, and bounds the nesting depth, so its time and memory are linear in the input.
 *
 * A string of more than {@link LONG_TEXT} bytes (an engine's base64 text) is read, and may be written, as its
 * bytes: a JavaScript string holds no more than about 512 MiB.
 *
 * @since 0.1.0
 */
import { Effect, Result } from "effect"
import { isUtf8 } from "node:buffer"
import { createHash } from "node:crypto"
import { type ArchiveError, at, type Location } from "../ArchiveError.ts"
import * as Json from "../Json.ts"
import * as Zip from "../zip/Zip.ts"
import * as ZipWriter from "../zip/ZipWriter.ts"
import * as RecordVersion from "./RecordVersion.ts"

// ===== Models =====

/**
 * A decoded pickle value. Integers are numbers when they are safe integers and bigints otherwise; a float
 * is a number too, so `1` and `1.0` read the same. Lists are plain arrays.
 *
 * @since 0.1.0
 * @category models
 */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | LongText
  | Uint8Array
  | ReadonlyArray<PickleValue>
  | Tuple
  | Dict
  | TorchBindObject

/**
 * A string of more than {@link LONG_TEXT} bytes, kept as its UTF-8 bytes (checked to be UTF-8) rather than
 * made a JavaScript string: in a torchbind state only an engine's base64 text is that long, and it is decoded
 * from its bytes (`EngineRecord.Base64Fields`), since a string holds no more than about 512 MiB of it.
 *
 * @since 0.1.0
 * @category models
 */
export class LongText {
  readonly bytes: Uint8Array
  constructor(bytes: Uint8Array) {
    this.bytes = bytes
  }
}

/**
 * The most UTF-8 bytes of a pickled string made a JavaScript string; a longer one is a {@link LongText}.
 *
 * @since 0.1.0
 * @category models
 */
export const LONG_TEXT = 2 ** 24

/**
 * The string of a pickled string, a {@link LongText} decoded; or the detail of why it has none (longer than
 * a JavaScript string holds).
 *
 * @since 0.1.0
 * @category getters
 */
export const textOf = (value: string | LongText): Result.Result<string, string> =>
  typeof value === "string" ? Result.succeed(value) : decodeText(value.bytes)

/**
 * A pickled tuple.
 *
 * @since 0.1.0
 * @category models
 */
export interface Tuple {
  readonly _tag: "Tuple"
  readonly items: ReadonlyArray<PickleValue>
}

/**
 * The keys a decoded dict may have: the scalars TorchScript dicts are keyed by.
 *
 * @since 0.1.0
 * @category models
 */
export type DictKey = null | boolean | number | bigint | string

/**
 * A pickled dict, in insertion order; a key set twice keeps its first place and its last value, as in
 * Python.
 *
 * @since 0.1.0
 * @category models
 */
export interface Dict {
  readonly _tag: "Dict"
  readonly entries: ReadonlyArray<readonly [DictKey, PickleValue]>
}

/**
 * An instance of a torchbind class (`torch::class_<T>("ns", "Class")`), with the state its `__setstate__`
 * would receive. `classFqn` is `__torch__.torch.classes.<ns>.<Class>`.
 *
 * @since 0.1.0
 * @category models
 */
export interface TorchBindObject {
  readonly _tag: "TorchBindObject"
  readonly classFqn: string
  readonly state: PickleValue
}

/**
 * The deepest nesting of containers the decoder accepts. Real custom objects nest two deep (object, list);
 * the bound keeps recursive consumers of a decoded value safe from stack overflows.
 *
 * @since 0.1.0
 * @category models
 */
export const maxDepth = 100

// ===== Opcodes =====

// Every opcode of protocols 0 to 5, so that a refused one is reported by name.
const opcodeNames: Record<number, string> = {
  0x28: "MARK", 0x2e: "STOP", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x46: "FLOAT", 0x49: "INT",
  0x4a: "BININT", 0x4b: "BININT1", 0x4c: "LONG", 0x4d: "BININT2", 0x4e: "NONE", 0x50: "PERSID",
  0x51: "BINPERSID", 0x52: "REDUCE", 0x53: "STRING", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING",
  0x56: "UNICODE", 0x58: "BINUNICODE", 0x61: "APPEND", 0x62: "BUILD", 0x63: "GLOBAL", 0x64: "DICT",
  0x7d: "EMPTY_DICT", 0x65: "APPENDS", 0x67: "GET", 0x68: "BINGET", 0x69: "INST", 0x6a: "LONG_BINGET",
  0x6c: "LIST", 0x5d: "EMPTY_LIST", 0x6f: "OBJ", 0x70: "PUT", 0x71: "BINPUT", 0x72: "LONG_BINPUT",
  0x73: "SETITEM", 0x74: "TUPLE", 0x29: "EMPTY_TUPLE", 0x75: "SETITEMS", 0x47: "BINFLOAT", 0x80: "PROTO",
  0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x85: "TUPLE1", 0x86: "TUPLE2", 0x87: "TUPLE3",
  0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x8a: "LONG1", 0x8b: "LONG4", 0x42: "BINBYTES", 0x43: "SHORT_BINBYTES",
  0x8c: "SHORT_BINUNICODE", 0x8d: "BINUNICODE8", 0x8e: "BINBYTES8", 0x8f: "EMPTY_SET", 0x90: "ADDITEMS",
  0x91: "FROZENSET", 0x92: "NEWOBJ_EX", 0x93: "STACK_GLOBAL", 0x94: "MEMOIZE", 0x95: "FRAME",
  0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER"
}

const MARK = 0x28, STOP = 0x2e, BININT = 0x4a, BININT1 = 0x4b, BININT2 = 0x4d, NONE = 0x4e, REDUCE = 0x52
const BINUNICODE = 0x58, APPEND = 0x61, BUILD = 0x62, GLOBAL = 0x63, EMPTY_DICT = 0x7d, APPENDS = 0x65
const BINGET = 0x68, LONG_BINGET = 0x6a, EMPTY_LIST = 0x5d, BINPUT = 0x71, LONG_BINPUT = 0x72, SETITEM = 0x73
const TUPLE = 0x74, EMPTY_TUPLE = 0x29, SETITEMS = 0x75, BINFLOAT = 0x47, PROTO = 0x80, NEWOBJ = 0x81
const TUPLE1 = 0x85, TUPLE2 = 0x86, TUPLE3 = 0x87, NEWTRUE = 0x88, NEWFALSE = 0x89, LONG1 = 0x8a
const BINBYTES = 0x42, SHORT_BINBYTES = 0x43, SHORT_BINUNICODE = 0x8c, BINUNICODE8 = 0x8d

const hex = (b: number) => `0x${b.toString(16).padStart(2, "0")}`
const opcodeName = (b: number) => `${opcodeNames[b] ?? "unknown opcode"} (${hex(b)})`

// ===== Globals =====

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/
const torchBindModule = /^__torch__\.torch\.classes\.[A-Za-z_][A-Za-z0-9_]*$/

// A resolved GLOBAL: a name, never a function. It may sit on the stack and in the memo, never in a value.
class GlobalRef {
  readonly kind: "class" | "restore_type_tag" | "build_intlist"
  readonly name: string
  constructor(kind: GlobalRef["kind"], name: string) {
    this.kind = kind
    this.name = name
  }
}

// Torch writes module and name on one line each; the bound keeps a missing newline from scanning far.
const maxGlobalLine = 512

const resolveGlobal = (module: string, name: string): GlobalRef | undefined => {
  if (module === "torch.jit._pickle" && (name === "restore_type_tag" || name === "build_intlist")) {
    return new GlobalRef(name, `${module}.${name}`)
  }
  if (torchBindModule.test(module) && identifier.test(name)) return new GlobalRef("class", `${module}.${name}`)
  return undefined
}

// ===== Decoding =====

type Item = PickleValue | GlobalRef
type Container = ReadonlyArray<PickleValue> | Tuple | Dict | TorchBindObject

// A fault at the offset of the opcode being decoded; thrown inside the loop only, caught by decode.
class Fault {
  readonly offset: number
  readonly detail: string
  constructor(offset: number, detail: string) {
    this.offset = offset
    this.detail = detail
  }
}

const isList = (v: unknown): v is ReadonlyArray<PickleValue> => Array.isArray(v)
const isContainer = (v: Item): v is Container =>
  typeof v === "object" && v !== null && !(v instanceof Uint8Array) && !(v instanceof GlobalRef) && !(v instanceof LongText)
const isInteger = (v: PickleValue) => typeof v === "bigint" || (typeof v === "number" && Number.isInteger(v))
const isDictKey = (v: PickleValue): v is DictKey => v === null || typeof v !== "object"
const tagOf = (v: Item) => (isContainer(v) && !isList(v) ? v._tag : undefined)

const describe = (v: Item): string => {
  if (v instanceof GlobalRef) return `the global ${v.name}`
  if (v === null) return "None"
  if (typeof v !== "object") return `a ${typeof v}`
  if (v instanceof Uint8Array) return "bytes"
  if (v instanceof LongText) return "a string"
  if (isList(v)) return "a list"
  return v._tag === "Tuple" ? `a ${v.items.length}-tuple` : v._tag === "Dict" ? "a dict" : `a ${v.classFqn}`
}

// Strict UTF-8 that keeps a leading BOM as a character, so a decoded string re-encodes to the same bytes.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

// The string of UTF-8 bytes, or why there is none: not UTF-8, or longer than a string holds.
const decodeText = (bytes: Uint8Array): Result.Result<string, string> => {
  try {
    return Result.succeed(utf8.decode(bytes))
  } catch (e) {
    return Result.fail(Json.textTooLong(e, bytes.byteLength) ?? "invalid UTF-8")
  }
}

// The stack machine. Python's MARK semantics: values pushed before the innermost MARK are out of reach
// until that MARK is closed. A container becomes immutable ("sealed") once it is placed into another
// value; as every cycle would need a sealed container to grow, none can be built.
const run = (bytes: Uint8Array): PickleValue => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const stack: Array<Item> = []
  const marks: Array<number> = [] // stack heights at each open MARK
  const markOffsets: Array<number> = []
  const memo = new Map<number, Item>()
  const depths = new Map<Container, number>()
  const sealed = new Set<Container>()
  const unbuilt = new Set<TorchBindObject>()
  const dictKeys = new Map<Dict, Map<DictKey, number>>()
  let pos = 0
  let start = 0
  let code = -1

  const fail = (detail: string): never => {
    throw new Fault(start, code < 0 ? detail : `${opcodeName(code)}: ${detail}`)
  }
  const need = (n: number) => {
    if (n > bytes.length - pos) fail(`needs ${n} more bytes, ${bytes.length - pos} remain`)
  }
  const take = (n: number) => {
    need(n)
    pos += n
    return bytes.subarray(pos - n, pos)
  }
  const u8 = () => take(1)[0]!
  const u32 = () => (need(4), pos += 4, view.getUint32(pos - 4, true))
  const text = (n: number): string | LongText => {
    const raw = take(n)
    if (n > LONG_TEXT) return isUtf8(raw) ? new LongText(raw) : fail("invalid UTF-8")
    const decoded = decodeText(raw)
    return Result.isSuccess(decoded) ? decoded.success : fail(decoded.failure)
  }
  const floor = () => (marks.length === 0 ? 0 : marks[marks.length - 1]!)
  const top = (): Item => (stack.length <= floor() ? fail("stack underflow") : stack[stack.length - 1]!)
  const pop = (): Item => (top(), stack.pop()!)
  const popMark = (): Array<Item> => {
    if (marks.length === 0) fail("no MARK to close")
    markOffsets.pop()
    return stack.splice(marks.pop()!)
  }
  const depthOf = (v: PickleValue) => (isContainer(v) ? depths.get(v) ?? 1 : 0)
  const deepen = (c: Container, d: number) => {
    if (d > maxDepth) fail(`containers nest deeper than ${maxDepth}`)
    if (d > (depths.get(c) ?? 1)) depths.set(c, d)
  }
  // A value leaving the stack for a place inside another value.
  const consume = (v: Item): PickleValue => {
    if (v instanceof GlobalRef) return fail(`${describe(v)} cannot be used as a value`)
    if (isContainer(v)) sealed.add(v)
    return v
  }
  const mutable = <C extends Container>(v: Item, ok: (c: Container) => c is C, what: string): C => {
    if (!isContainer(v) || !ok(v)) return fail(`expects ${what} below, found ${describe(v)}`)
    if (sealed.has(v)) fail(`${describe(v)} is already part of another value (a cycle or a late mutation)`)
    return v
  }
  const asList = (c: Container): c is Array<PickleValue> => isList(c)
  const asDict = (c: Container): c is Dict => !isList(c) && c._tag === "Dict"
  const asObject = (c: Container): c is TorchBindObject => !isList(c) && c._tag === "TorchBindObject"
  const tuple = (items: Array<Item>) => {
    const values = items.map(consume)
    const t: Tuple = { _tag: "Tuple", items: values }
    let d = 1
    for (const v of values) d = Math.max(d, depthOf(v) + 1)
    deepen(t, d)
    stack.push(t)
  }
  const setItems = (dict: Dict, items: ReadonlyArray<Item>) => {
    const entries = dict.entries as Array<readonly [DictKey, PickleValue]>
    let index = dictKeys.get(dict)
    if (index === undefined) dictKeys.set(dict, index = new Map())
    for (let i = 0; i < items.length; i += 2) {
      const key = consume(items[i]!)
      const value = consume(items[i + 1]!)
      if (!isDictKey(key)) fail(`a dict key must be a scalar, found ${describe(key)}`)
      const k = key as DictKey
      const slot = index.get(k)
      if (slot === undefined) index.set(k, entries.push([k, value]) - 1)
      else entries[slot] = [k, value]
      deepen(dict, depthOf(value) + 1)
    }
  }
  const reduce = (fn: Item, args: Item): PickleValue => {
    if (!(fn instanceof GlobalRef) || fn.kind === "class") {
      return fail(`expects restore_type_tag or build_intlist below its arguments, found ${describe(fn)}`)
    }
    if (tagOf(args) !== "Tuple") return fail(`arguments must be a tuple, found ${describe(args)}`)
    const items = (args as Tuple).items
    const first = items[0] ?? null
    if (fn.kind === "restore_type_tag") {
      const tag = items[1]
      if (items.length !== 2 || typeof tag !== "string") return fail("expects (value, type string)")
      // torch's restoreContainerTypeTags knows list and dict types only.
      const fits = tag.endsWith("]") &&
        (tag.startsWith("List[") ? isList(first) : tag.startsWith("Dict[") && tagOf(first) === "Dict")
      return fits ? first : fail(`type tag ${JSON.stringify(tag)} does not fit ${describe(first)}`)
    }
    if (items.length !== 1 || !isList(first) || !first.every(isInteger)) return fail("expects (list of ints,)")
    return first
  }

  if (bytes[0] !== PROTO) {
    const found = bytes.length === 0 ? "no bytes" : opcodeName(bytes[0]!)
    return fail(`expected PROTO 2 at the start of the pickle, found ${found}`)
  }
  for (;;) {
    if (pos >= bytes.length) {
      start = pos
      code = -1
      return fail("the pickle ends without STOP")
    }
    start = pos
    code = bytes[pos++]!
    switch (code) {
      case PROTO: {
        if (start !== 0) fail("only allowed at the start")
        const protocol = u8()
        if (protocol !== 2) fail(`protocol ${protocol}; torch reads protocol 2 only`)
        break
      }
      case STOP: {
        if (pos !== bytes.length) fail(`${bytes.length - pos} bytes after STOP`)
        if (marks.length > 0) fail(`the MARK at offset ${markOffsets[markOffsets.length - 1]} is never closed`)
        if (unbuilt.size > 0) fail(`${describe([...unbuilt][0]!)} never received its state (no BUILD)`)
        if (stack.length !== 1) fail(`${stack.length} values on the stack, expected 1`)
        return consume(stack[0]!)
      }
      case MARK:
        marks.push(stack.length)
        markOffsets.push(start)
        break
      case GLOBAL: {
        const line = () => {
          const window = bytes.subarray(pos, pos + maxGlobalLine)
          const end = window.indexOf(0x0a)
          if (end < 0) fail(`no newline in the next ${window.length} bytes`)
          return String.fromCharCode(...take(end + 1).subarray(0, end))
        }
        const module = line()
        const name = line()
        const ref = resolveGlobal(module, name)
        if (ref === undefined) fail(`the global ${JSON.stringify(`${module}.${name}`)} is not allowed`)
        stack.push(ref!)
        break
      }
      case BINPUT:
      case LONG_BINPUT: {
        const index = code === BINPUT ? u8() : u32()
        memo.set(index, top())
        break
      }
      case BINGET:
      case LONG_BINGET: {
        const index = code === BINGET ? u8() : u32()
        const v = memo.get(index)
        if (v === undefined) fail(`memo ${index} was never set`)
        stack.push(v!)
        break
      }
      case EMPTY_TUPLE:
        tuple([])
        break
      case TUPLE1:
      case TUPLE2:
      case TUPLE3: {
        const items = Array.from({ length: code - TUPLE1 + 1 }, pop).reverse()
        tuple(items)
        break
      }
      case TUPLE:
        tuple(popMark())
        break
      case EMPTY_LIST:
        stack.push([])
        break
      case APPEND:
      case APPENDS: {
        const items = code === APPEND ? [pop()] : popMark()
        const values = items.map(consume)
        const list = mutable(top(), asList, "a list")
        let d = depthOf(list)
        // One push per item: spreading a huge array into push() would overflow the call stack.
        for (const v of values) list.push(v), d = Math.max(d, depthOf(v) + 1)
        deepen(list, d)
        break
      }
      case EMPTY_DICT:
        stack.push({ _tag: "Dict", entries: [] })
        break
      case SETITEM:
      case SETITEMS: {
        const items = code === SETITEM ? [pop(), pop()].reverse() : popMark()
        if (items.length % 2 !== 0) fail(`${items.length} values between MARK and SETITEMS, expected key-value pairs`)
        setItems(mutable(top(), asDict, "a dict"), items)
        break
      }
      case NEWOBJ: {
        const args = pop()
        const cls = pop()
        if (!(cls instanceof GlobalRef) || cls.kind !== "class") {
          fail(`expects a torchbind class below its arguments, found ${describe(cls)}`)
        }
        if (tagOf(args) !== "Tuple" || (args as Tuple).items.length !== 0) {
          fail(`expects an empty tuple of arguments, found ${describe(args)}`)
        }
        const object: TorchBindObject = { _tag: "TorchBindObject", classFqn: (cls as GlobalRef).name, state: null }
        unbuilt.add(object)
        stack.push(object)
        break
      }
      case BUILD: {
        const state = consume(pop())
        const object = mutable(top(), asObject, "a torchbind object")
        if (!unbuilt.delete(object)) fail(`${describe(object)} already has its state`)
        ;(object as { state: PickleValue }).state = state
        deepen(object, depthOf(state) + 1)
        break
      }
      case REDUCE: {
        const args = pop()
        stack.push(reduce(pop(), args))
        break
      }
      case NONE:
        stack.push(null)
        break
      case NEWTRUE:
      case NEWFALSE:
        stack.push(code === NEWTRUE)
        break
      case BININT1:
        stack.push(u8())
        break
      case BININT2:
        need(2)
        stack.push(view.getUint16((pos += 2) - 2, true))
        break
      case BININT:
        need(4)
        stack.push(view.getInt32((pos += 4) - 4, true))
        break
      case LONG1: {
        const n = u8()
        if (n !== 8) fail(`${n}-byte integer; torch reads 8-byte LONG1 only`)
        need(8)
        const v = view.getBigInt64((pos += 8) - 8, true)
        stack.push(v >= Number.MIN_SAFE_INTEGER && v <= Number.MAX_SAFE_INTEGER ? Number(v) : v)
        break
      }
      case BINFLOAT:
        need(8)
        stack.push(view.getFloat64((pos += 8) - 8, false))
        break
      case SHORT_BINUNICODE:
        stack.push(text(u8()))
        break
      case BINUNICODE:
        stack.push(text(u32()))
        break
      case BINUNICODE8: {
        const low = u32()
        const high = u32()
        // Above 2^53 the sum is inexact but still far larger than any byte count that remains.
        stack.push(text(high * 2 ** 32 + low))
        break
      }
      case SHORT_BINBYTES:
      case BINBYTES:
        stack.push(take(code === SHORT_BINBYTES ? u8() : u32()).slice())
        break
      default:
        fail(opcodeNames[code] === undefined ? "not a pickle opcode" : "opcode not allowed")
    }
  }
}

/**
 * Decodes pickle bytes without executing anything: only the opcodes and globals listed in the module
 * documentation are understood, everything else is a located `BadPickle` error. Synchronous (a `Result`):
 * the bytes are in memory, and decoding them is pure work.
 *
 * **Details**
 *
 * A fault is a `BadPickle` error at `location` whose `path` is `<location.path ?? "data.pkl">@offset <n>`,
 * `n` being the offset of the opcode at fault (0 for a missing PROTO, the length for a missing STOP).
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (bytes: Uint8Array, location: Location): Result.Result<PickleValue, ArchiveError> => {
  try {
    return Result.succeed(run(bytes))
  } catch (e) {
    if (!(e instanceof Fault)) throw e
    const path = `${location.path ?? "data.pkl"}@offset ${e.offset}`
    return Result.fail(at({ ...location, path }, "BadPickle", e.detail))
  }
}

/**
 * The state of a torchbind object when it is a list of strings (Torch-TensorRT's `TRTEngine::serialize()`),
 * a string of more than {@link LONG_TEXT} bytes as its {@link LongText}.
 *
 * @since 0.1.0
 * @category getters
 */
export const stringState = (object: TorchBindObject): ReadonlyArray<string | LongText> | undefined => {
  const { state } = object
  return isList(state) && state.every((s) => typeof s === "string" || s instanceof LongText)
    ? (state as ReadonlyArray<string | LongText>)
    : undefined
}

// ===== Encoding =====

// Why `encodeTorchBind` cannot encode these arguments, or undefined.
const encodeProblem = (classFqn: string, state: ReadonlyArray<string | Uint8Array>): string | undefined => {
  const dot = classFqn.lastIndexOf(".")
  if (!torchBindModule.test(classFqn.slice(0, dot)) || !identifier.test(classFqn.slice(dot + 1))) {
    return `class ${JSON.stringify(classFqn)} is not __torch__.torch.classes.<ns>.<Class>`
  }
  const bad = state.findIndex((s) => typeof s === "string" && !s.isWellFormed())
  return bad < 0 ? undefined : `state[${bad}] has a lone surrogate and no UTF-8 form`
}

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0))

/**
 * The `data.pkl` torch writes for a torchbind object whose `__getstate__` returns a `List[str]`, byte for
 * byte as `Pickler` writes it: the class and `restore_type_tag` globals memoised, each distinct string
 * memoised on first use and fetched again after (`pushString`), the list tagged `List[str]`, and memo puts
 * after the tagged list and after `BUILD`.
 *
 * **Gotchas**
 *
 * Throws a `RangeError` when `classFqn` is not `__torch__.torch.classes.<ns>.<Class>` or a string has a
 * lone surrogate: those are programming errors. {@link writeCustomObject} checks first and fails instead.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeTorchBind = (classFqn: string, state: ReadonlyArray<string>): Uint8Array =>
  ZipWriter.join(ZipWriter.pieces(torchBindChunks(classFqn, state)))

// The pieces of `encodeTorchBind`'s pickle, not joined: a large engine's base64 text is one of them.
// A state's string may be given as its UTF-8 bytes (an engine's base64 text: `EngineRecord.encodeBase64Text`).
const torchBindChunks = (classFqn: string, state: ReadonlyArray<string | Uint8Array>): Array<Uint8Array> => {
  const problem = encodeProblem(classFqn, state)
  if (problem !== undefined) throw new RangeError(problem)
  const chunks: Array<Uint8Array> = []
  let small: Array<number> = []
  const flush = () => {
    if (small.length > 0) chunks.push(Uint8Array.from(small))
    small = []
  }
  const u32 = (n: number) => small.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24)
  // Pickler::pushNextBinPut / pushBinGet: one-byte ids up to 255, four-byte ids after.
  let nextMemo = 0
  const memo = (short: number, long: number, id: number) =>
    id <= 255 ? small.push(short, id) : (small.push(long), u32(id))
  const put = () => (memo(BINPUT, LONG_BINPUT, nextMemo), nextMemo++)
  const strings = new Map<string, number>()
  const encoder = new TextEncoder()
  // Bytes are not memoised by content: only an engine's text is given as bytes, and no other field equals it.
  const pushString = (s: string | Uint8Array) => {
    const id = typeof s === "string" ? strings.get(s) : undefined
    if (id !== undefined) return void memo(BINGET, LONG_BINGET, id)
    const utf = typeof s === "string" ? encoder.encode(s) : s
    small.push(BINUNICODE)
    u32(utf.length)
    flush()
    chunks.push(utf)
    const memoId = put()
    if (typeof s === "string") strings.set(s, memoId)
  }
  const dot = classFqn.lastIndexOf(".")
  small.push(PROTO, 2, GLOBAL, ...ascii(`${classFqn.slice(0, dot)}\n${classFqn.slice(dot + 1)}\n`))
  put()
  small.push(EMPTY_TUPLE, NEWOBJ, GLOBAL, ...ascii("torch.jit._pickle\nrestore_type_tag\n"))
  put()
  small.push(EMPTY_LIST, MARK)
  for (const s of state) pushString(s)
  small.push(APPENDS)
  pushString("List[str]")
  small.push(TUPLE2, REDUCE)
  put()
  small.push(BUILD)
  put()
  small.push(STOP)
  flush()
  return chunks
}

// ===== Custom objects =====

// Where a fault inside a custom-object blob is reported: the outer archive and entry, the inner name as path.
const inner = (location: Location, name: string | undefined): Location => ({
  archive: location.archive,
  ...(location.entry === undefined ? {} : { entry: location.entry }),
  ...(name === undefined ? {} : { path: name })
})


/**
 * Reads a custom-object blob (the content of `data/constants/custom_obj_<i>`): a zip with one
 * `<root>/data.pkl`, whatever the root's name, beside a `<root>/.data/version` or legacy `<root>/version`
 * record, as `PyTorchStreamReader` requires. The pickle must hold a torchbind object.
 *
 * **Details**
 *
 * Faults keep `location`'s archive and entry and name the inner record in `path`
 * (`archive/data.pkl@offset 57` for a pickle fault). The version must be 1 to 10, as for torch 2.11.
 *
 * @since 0.1.0
 * @category decoding
 */
export const readCustomObject = (blob: Uint8Array, location: Location): Effect.Effect<TorchBindObject, ArchiveError> =>
  Effect.scoped(Effect.gen(function*() {
    const relocate = (e: ArchiveError) => at(inner(location, e.entry), e.fault, e.detail)
    const zip = yield* Effect.mapError(Zip.open({ _tag: "Bytes", bytes: blob, label: location.archive }), relocate)
    const names = [...zip.entries.keys()]
    const pickles = names.filter((n) => /^[^/]+\/data\.pkl$/.test(n))
    if (pickles.length === 0) {
      return yield* Effect.fail(at(inner(location, "data.pkl"), "MissingEntry", "no <root>/data.pkl record"))
    }
    if (pickles.length > 1) {
      const detail = `data.pkl under two roots: ${pickles.join(", ")}`
      return yield* Effect.fail(at(inner(location, pickles[1]), "DuplicateEntry", detail))
    }
    const pickle = pickles[0]!
    const root = pickle.slice(0, -"data.pkl".length)
    yield* RecordVersion.check(zip, root, (entry) => inner(location, entry))
    const data = yield* Effect.mapError(zip.read(pickle), relocate)
    const value = yield* Effect.fromResult(decode(data, inner(location, pickle)))
    if (tagOf(value) !== "TorchBindObject") {
      const detail = `holds ${describe(value)}, not a torchbind object`
      return yield* Effect.fail(at(inner(location, pickle), "SchemaMismatch", detail))
    }
    return value as TorchBindObject
  }))

// 40 decimal digits, as torch writes; torch draws them at random, here they are the first 16 bytes of the
// SHA-256 of data.pkl as two zero-padded 20-digit numbers, so the same object always gives the same bytes.
const serializationId = (pickle: ReadonlyArray<Uint8Array>): string => {
  const hash = createHash("sha256")
  for (const chunk of pickle) hash.update(chunk)
  const digest = hash.digest()
  return [0, 8].map((i) => digest.readBigUInt64BE(i).toString().padStart(20, "0")).join("")
}

/**
 * Writes a custom-object blob as `torch._C._pickle_save` does: root `archive/` with `data.pkl`
 * ({@link encodeTorchBind}), `version` (`3\n`, the legacy name torch uses below version 6), `byteorder`
 * (`little`) and `.data/serialization_id`, in that order, all stored. The serialization id is derived from
 * a hash of `data.pkl`, so the output is deterministic.
 *
 * **Gotchas**
 *
 * Torch pads each entry's data to a 64-byte boundary with an `FB` extra field; the zip layer cannot write
 * such fields, and `PyTorchStreamReader` does not need them (pt2-format.md A.3: unaligned custom objects
 * load), so only `data.pkl` is byte-identical to torch's output, not the whole blob.
 *
 * @since 0.1.0
 * @category encoding
 */
export const writeCustomObject = (
  classFqn: string,
  state: ReadonlyArray<string>
): Effect.Effect<Uint8Array, ArchiveError> => Effect.map(customObjectPieces(classFqn, state), ZipWriter.join)

/**
 * {@link writeCustomObject}'s blob as the pieces written, not joined (an entry of the `.pt2`'s zip takes
 * them as they are): an engine's base64 text is not copied again.
 *
 * @since 0.1.0
 * @category encoding
 */
export const customObjectPieces = (
  classFqn: string,
  state: ReadonlyArray<string | Uint8Array>
): Effect.Effect<ZipWriter.Pieces, ArchiveError> =>
  Effect.suspend(() => {
    const problem = encodeProblem(classFqn, state)
    if (problem !== undefined) {
      return Effect.fail(at({ archive: "<bytes>", entry: "archive/data.pkl" }, "BadPickle", problem))
    }
    const pickle = torchBindChunks(classFqn, state)
    const entries: Array<[string, Uint8Array | ZipWriter.Pieces]> = [
      ["archive/data.pkl", ZipWriter.pieces(pickle)],
      ["archive/version", ascii("3\n")],
      ["archive/byteorder", ascii("little")],
      ["archive/.data/serialization_id", ascii(serializationId(pickle))]
    ]
    return ZipWriter.toPieces(entries.map(([name, data]) => ({ name, data, compress: false })))
  })
