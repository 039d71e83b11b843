/**
 * Geometry checks of a drawn picture, shared by the layout test (on `Layout.ts`'s output) and the browser
 * test (on the DOM's boxes and paths): edges are orthogonal polylines, and no segment of an edge passes
 * through a box other than the two it joins.
 */

export interface Point {
  readonly x: number
  readonly y: number
}

export interface Rect {
  readonly id: string
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
}

export interface Path {
  readonly from: string
  readonly to: string
  readonly points: ReadonlyArray<Point>
}

/** The points of an SVG path made of absolute `M` and `L` commands, as `Picture.ts` writes them. */
export const parsePath = (d: string): Array<Point> =>
  [...d.matchAll(/[ML]\s*(-?[\d.]+)[ ,](-?[\d.]+)/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]) }))

const EPS = 0.5

/** The segments of paths that are neither horizontal nor vertical. */
export const slanted = (paths: ReadonlyArray<Path>): Array<string> =>
  paths.flatMap((p) =>
    p.points.slice(1).flatMap((b, i) => {
      const a = p.points[i]!
      return Math.abs(a.x - b.x) > EPS && Math.abs(a.y - b.y) > EPS ? [`${p.from}→${p.to}: (${a.x},${a.y})-(${b.x},${b.y})`] : []
    })
  )

/**
 * Each segment that enters the inside of a box other than its path's ends (shrunk by `inset`, so that a
 * segment along a border does not count), named with the box it crosses.
 */
export const crossings = (boxes: ReadonlyArray<Rect>, paths: ReadonlyArray<Path>, inset = 1): Array<string> => {
  const out: Array<string> = []
  for (const p of paths) {
    for (let i = 1; i < p.points.length; i++) {
      const a = p.points[i - 1]!
      const b = p.points[i]!
      const [x0, x1] = [Math.min(a.x, b.x), Math.max(a.x, b.x)]
      const [y0, y1] = [Math.min(a.y, b.y), Math.max(a.y, b.y)]
      for (const r of boxes) {
        if (r.id === p.from || r.id === p.to) continue
        const inside = x1 > r.x + inset && x0 < r.x + r.width - inset && y1 > r.y + inset && y0 < r.y + r.height - inset
        if (inside) out.push(`${p.from}→${p.to} segment (${a.x},${a.y})-(${b.x},${b.y}) crosses box ${r.id}`)
      }
    }
  }
  return out
}

/** Whether each path starts on the border of its source box and ends on the border of its target box. */
export const detached = (boxes: ReadonlyArray<Rect>, paths: ReadonlyArray<Path>, tolerance = 2): Array<string> => {
  const byId = new Map(boxes.map((r) => [r.id, r]))
  const onBorder = (r: Rect | undefined, p: Point | undefined) =>
    r !== undefined && p !== undefined &&
    p.x >= r.x - tolerance && p.x <= r.x + r.width + tolerance && p.y >= r.y - tolerance && p.y <= r.y + r.height + tolerance &&
    (Math.abs(p.x - r.x) <= tolerance || Math.abs(p.x - r.x - r.width) <= tolerance || Math.abs(p.y - r.y) <= tolerance ||
      Math.abs(p.y - r.y - r.height) <= tolerance)
  return paths.flatMap((p) =>
    onBorder(byId.get(p.from), p.points[0]) && onBorder(byId.get(p.to), p.points[p.points.length - 1]) ? [] : [`${p.from}→${p.to}`]
  )
}
