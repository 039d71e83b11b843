/**
 * Graph layout for the report's picture, by elkjs (the Eclipse Layout Kernel compiled to JavaScript): its
 * layered algorithm (Sugiyama: layers left to right, crossings reduced, nodes placed) with orthogonal edge
 * routing, where every edge between two layers gets a vertical lane of its own and an edge that skips layers
 * runs through them between the boxes, never across one.
 *
 * elkjs's API answers with a promise; its bundled build (`elk.bundled.js`) runs the layout in the same
 * thread, so the layout is an Effect that needs no worker and no file beside the bundle.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import ELK from "elkjs/lib/elk.bundled.js"

// ===== Models =====

/**
 * A box to place: its id and size.
 *
 * @since 0.1.0
 * @category models
 */
export interface Node {
  readonly id: string
  readonly width: number
  readonly height: number
}

/**
 * An edge between two box ids.
 *
 * @since 0.1.0
 * @category models
 */
export interface Edge {
  readonly id: string
  readonly from: string
  readonly to: string
}

/**
 * A point of the picture.
 *
 * @since 0.1.0
 * @category models
 */
export interface Point {
  readonly x: number
  readonly y: number
}

/**
 * The placed picture: each box's top-left corner, each edge as the points of its orthogonal polyline (from
 * the border of its source to the border of its target), and the picture's size.
 *
 * @since 0.1.0
 * @category models
 */
export interface Layout {
  readonly width: number
  readonly height: number
  readonly nodes: ReadonlyMap<string, Point>
  readonly edges: ReadonlyMap<string, ReadonlyArray<Point>>
}

/**
 * elkjs's options for the picture: layered, left to right, orthogonal edges, nodes kept in the order given
 * where that costs no crossing.
 *
 * @since 0.1.0
 * @category models
 */
export const OPTIONS: Readonly<Record<string, string>> = {
  "elk.algorithm": "layered",
  "elk.direction": "RIGHT",
  "elk.edgeRouting": "ORTHOGONAL",
  "elk.padding": "[top=24,left=24,bottom=24,right=24]",
  "elk.spacing.nodeNode": "28",
  "elk.spacing.edgeNode": "16",
  "elk.spacing.edgeEdge": "10",
  "elk.layered.spacing.nodeNodeBetweenLayers": "40",
  "elk.layered.spacing.edgeNodeBetweenLayers": "16",
  "elk.layered.spacing.edgeEdgeBetweenLayers": "10",
  "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
  "elk.layered.nodePlacement.strategy": "NETWORK_SIMPLEX"
}

/**
 * The options, over {@link OPTIONS}, that wrap a long picture into rows, as text wraps, towards a screen's
 * aspect ratio; the edges that go on to the next row run in lanes between the rows.
 *
 * @since 0.1.0
 * @category models
 */
export const WRAPPED: Readonly<Record<string, string>> = {
  "elk.layered.wrapping.strategy": "MULTI_EDGE",
  "elk.aspectRatio": "1.6"
}

// One instance: elkjs keeps its registered algorithms in it. The module is CommonJS: Node, vitest and esbuild
// give `module.exports`, the constructor, whose `default` is the constructor again (which is what the typings
// call the default export).
let elk: InstanceType<typeof ELK.default> | undefined
const instance = () => (elk ??= new ELK.default({ algorithms: ["layered"] }))

// ===== Layout =====

interface ElkOut {
  readonly width?: number
  readonly height?: number
  readonly children?: ReadonlyArray<{ readonly id: string; readonly x?: number; readonly y?: number }>
  readonly edges?: ReadonlyArray<{
    readonly id: string
    readonly sections?: ReadonlyArray<{ readonly startPoint: Point; readonly endPoint: Point; readonly bendPoints?: ReadonlyArray<Point> }>
  }>
}

/**
 * Lays out boxes and edges with elkjs's layered algorithm ({@link OPTIONS}, with `options` over them). A
 * failure of elkjs is a defect: every graph of boxes and edges has a layout.
 *
 * @since 0.1.0
 * @category constructors
 */
export const layered = (
  nodes: ReadonlyArray<Node>,
  edges: ReadonlyArray<Edge>,
  options: Readonly<Record<string, string>> = {}
): Effect.Effect<Layout> => {
  const graph = {
    id: "root",
    layoutOptions: { ...OPTIONS, ...options },
    children: nodes.map((n) => ({ id: n.id, width: n.width, height: n.height })),
    edges: edges.map((e) => ({ id: e.id, sources: [e.from], targets: [e.to] }))
  }
  return Effect.map(Effect.promise(() => instance().layout(graph) as Promise<ElkOut>), (out) => placed(out))
}

const placed = (out: ElkOut): Layout => {
  const nodes = new Map<string, Point>()
  for (const c of out.children ?? []) nodes.set(c.id, { x: c.x ?? 0, y: c.y ?? 0 })
  const routes = new Map<string, ReadonlyArray<Point>>()
  for (const e of out.edges ?? []) {
    const points: Array<Point> = []
    for (const s of e.sections ?? []) {
      for (const p of [s.startPoint, ...(s.bendPoints ?? []), s.endPoint]) {
        const last = points[points.length - 1]
        if (last === undefined || last.x !== p.x || last.y !== p.y) points.push({ x: p.x, y: p.y })
      }
    }
    routes.set(e.id, points)
  }
  return { width: out.width ?? 0, height: out.height ?? 0, nodes, edges: routes }
}
