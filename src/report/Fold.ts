/**
 * Folding of a flow (`Flow.ts`) for the picture: a long run of engine and fallback boxes one after another, as
 * a model that alternates between TensorRT and PyTorch again and again gives, becomes its first box, one fold
 * box that stands for the boxes between, and its last box. A 1,000-engine chain is then five or six boxes,
 * which a screen holds; the fold's record lists the boxes it holds (the page shows each one's record on a
 * click).
 *
 * The rule. Inputs and weights are left out of it (they feed anything; their edges to folded boxes go to the
 * fold). A box is a *cut* when it is the only other box of its layer and no edge passes over its layer: all
 * the data flow goes through it. A *run* is a sequence of consecutive cuts, engines and fallback segments,
 * where each stretch between two of them holds at most {@link BLOCK} boxes, all engines and fallback segments
 * (the fallback segment beside an engine's skip connection, say). Runs are maximal; a run whose boxes, cuts
 * and stretches together, number more than {@link FOLD_ABOVE} is folded between its first and last cut,
 * which stay as they are.
 *
 * @since 0.1.0
 */
import * as Flow from "./Flow.ts"
import * as Summary from "../program/Summary.ts"

// ===== Models =====

/**
 * One item of the folded picture: a box of the flow, or a fold that stands for the inside of a run
 * (`members`, ids of the flow's boxes, in layer order).
 *
 * @since 0.1.0
 * @category models
 */
export type Item =
  | { readonly _tag: "Box"; readonly id: number; readonly box: Flow.Box }
  | { readonly _tag: "Fold"; readonly id: number; readonly members: ReadonlyArray<number>; readonly title: string; readonly lines: ReadonlyArray<string> }

/**
 * The folded picture: items (a box keeps its flow id; a fold's id follows the flow's last id) and the edges
 * between item ids, each once.
 *
 * @since 0.1.0
 * @category models
 */
export interface Folded {
  readonly items: ReadonlyArray<Item>
  readonly edges: ReadonlyArray<readonly [number, number]>
  /** For each flow box, the id of the item that shows it (itself, or its fold). */
  readonly itemOf: ReadonlyMap<number, number>
}

/**
 * The longest run left as it is; a longer one keeps its first and last box and folds the rest.
 *
 * @since 0.1.0
 * @category models
 */
export const FOLD_ABOVE = 8

// ===== Folding =====

/**
 * The most boxes a stretch between two cuts of a run may hold.
 *
 * @since 0.1.0
 * @category models
 */
export const BLOCK = 3

const isSide = (b: Flow.Box): boolean => b.kind === "input" || b.kind === "weights"
const isSegment = (b: Flow.Box): boolean => b.kind === "engine" || b.kind === "fallback"

/**
 * The maximal runs of a flow (see the module's rule), each as its boxes' ids in layer order, first and last
 * cut included; only runs of two cuts or more.
 *
 * @since 0.1.0
 * @category getters
 */
export const runs = (flow: Flow.Flow): Array<Array<number>> => {
  const byId = new Map(flow.boxes.map((b) => [b.id, b]))
  const top = flow.boxes.reduce((m, b) => Math.max(m, b.layer), 0)
  const atLayer = Array.from({ length: top + 1 }, (): Array<Flow.Box> => [])
  for (const b of flow.boxes) if (!isSide(b)) atLayer[b.layer]!.push(b)
  // passing[l] > 0: some edge goes from a layer before l to a layer after it.
  const passing = new Array<number>(top + 2).fill(0)
  for (const [from, to] of flow.edges) {
    const a = byId.get(from)!
    const b = byId.get(to)!
    if (isSide(a) || b.layer - a.layer < 2) continue
    passing[a.layer + 1]!++
    passing[b.layer]!--
  }
  const cuts: Array<Flow.Box> = []
  for (let l = 0, over = 0; l <= top; l++) {
    over += passing[l]!
    if (over === 0 && atLayer[l]!.length === 1) cuts.push(atLayer[l]![0]!)
  }
  const out: Array<Array<number>> = []
  let run: Array<Flow.Box> = []
  const close = () => {
    if (run.length >= 2) out.push(run.map((b) => b.id))
    run = []
  }
  for (const cut of cuts) {
    if (!isSegment(cut)) {
      close()
      continue
    }
    const last = run[run.length - 1]
    if (last !== undefined) {
      const between = atLayer.slice(last.layer + 1, cut.layer).flat()
      if (between.length <= BLOCK && between.every(isSegment)) {
        run.push(...between.sort((a, b) => a.layer - b.layer || a.id - b.id), cut)
        continue
      }
      close()
    }
    run = [cut]
  }
  close()
  return out
}

/**
 * The folded picture of a flow: every run of more than `above` boxes folded between its first and last.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fold = (flow: Flow.Flow, above: number = FOLD_ABOVE): Folded => {
  const byId = new Map(flow.boxes.map((b) => [b.id, b]))
  const itemOf = new Map<number, number>(flow.boxes.map((b) => [b.id, b.id]))
  const folds: Array<Item> = []
  let nextId = flow.boxes.reduce((m, b) => Math.max(m, b.id + 1), 0)
  for (const run of runs(flow)) {
    if (run.length <= above) continue
    const members = run.slice(1, -1)
    const id = nextId++
    for (const m of members) itemOf.set(m, id)
    const engines = members.filter((m) => byId.get(m)!.kind === "engine")
    const bytes = engines.reduce((a, m) => a + (byId.get(m)!.record.engine?.bytes ?? 0), 0)
    const ops = members.reduce((a, m) => a + byId.get(m)!.record.nodes.total, 0)
    folds.push({
      _tag: "Fold",
      id,
      members,
      title: `×${members.length} engine/fallback segments`,
      lines: [
        `${engines.length} engine${engines.length === 1 ? "" : "s"} · ${Summary.bytes(bytes)}`,
        `${members.length - engines.length} PyTorch segment${members.length - engines.length === 1 ? "" : "s"} · ${ops} op${ops === 1 ? "" : "s"}`,
        "click to list them"
      ]
    })
  }
  const items: Array<Item> = [
    ...flow.boxes.filter((b) => itemOf.get(b.id) === b.id).map((box): Item => ({ _tag: "Box", id: box.id, box })),
    ...folds
  ]
  const seen = new Set<string>()
  const edges: Array<readonly [number, number]> = []
  for (const [a, b] of flow.edges) {
    const from = itemOf.get(a)!
    const to = itemOf.get(b)!
    const key = `${from}>${to}`
    if (from === to || seen.has(key)) continue
    seen.add(key)
    edges.push([from, to])
  }
  return { items, edges, itemOf }
}
