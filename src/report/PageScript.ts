/**
 * The report page's one script, as its source text (the page inlines it, and its Content-Security-Policy
 * allows it by its hash): the picture pans (drag), zooms (wheel, the + and − buttons, keys `+` `-`), and fits
 * the screen at first and on "Fit" (key `0`); a click (or Enter) on a box shows its record in the side panel,
 * and on a fold the list of the boxes it holds, each of which shows its own record on a click.
 *
 * The records come from the page's JSON data element (`#trtx-data`, `Report.ts`); they are written into the
 * panel as text nodes only, never as markup. It uses no network and no storage.
 *
 * @since 0.1.0
 */

/**
 * The script's source: plain ES2020 for a browser, no imports.
 *
 * @since 0.1.0
 * @category rendering
 */
export const source = String.raw`(() => {
  "use strict"
  const data = JSON.parse(document.getElementById("trtx-data").textContent)
  const view = document.getElementById("view")
  const svg = document.getElementById("picture")
  const scene = document.getElementById("scene")
  const panel = document.getElementById("panel")
  const zoomText = document.getElementById("zoom")
  const W = Number(svg.dataset.width)
  const H = Number(svg.dataset.height)
  let s = 1, tx = 0, ty = 0

  // Box texts were cut to a count of characters; one still wider than its box (wide letters) is cut
  // further here, to what the box holds, with the whole text as its tooltip.
  const clampTexts = () => {
    for (const g of svg.querySelectorAll(".box")) {
      const room = Number(g.querySelector("rect.frame").getAttribute("width")) - 16
      for (const t of g.querySelectorAll("text")) {
        if (t.getComputedTextLength() <= room) continue
        const tip = t.querySelector("title")
        const full = tip !== null ? tip.textContent : t.textContent
        const line = t.firstChild
        let lo = 0, hi = full.length
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1
          line.data = full.slice(0, mid) + "…"
          if (t.getComputedTextLength() <= room) lo = mid
          else hi = mid - 1
        }
        line.data = full.slice(0, lo) + "…"
        if (tip === null) {
          const title = document.createElementNS(svg.namespaceURI, "title")
          title.textContent = full
          t.append(title)
        }
      }
    }
  }

  const apply = () => {
    scene.setAttribute("transform", "translate(" + tx + " " + ty + ") scale(" + s + ")")
    zoomText.textContent = Math.round(s * 100) + "%"
  }
  // The initial view: the whole picture on the screen, never larger than life.
  const fit = () => {
    const r = view.getBoundingClientRect()
    s = Math.min(1, (r.width - 16) / W, (r.height - 16) / H)
    tx = (r.width - W * s) / 2
    ty = (r.height - H * s) / 2
    apply()
  }
  const zoomAt = (k, px, py) => {
    const next = Math.min(8, Math.max(0.005, s * k))
    tx = px - (px - tx) * next / s
    ty = py - (py - ty) * next / s
    s = next
    apply()
  }
  const zoomCentre = (k) => {
    const r = view.getBoundingClientRect()
    zoomAt(k, r.width / 2, r.height / 2)
  }
  view.addEventListener("wheel", (e) => {
    e.preventDefault()
    const r = view.getBoundingClientRect()
    const unit = e.deltaMode === 1 ? 40 : e.deltaMode === 2 ? 800 : 1
    zoomAt(Math.exp(-e.deltaY * unit * 0.0015), e.clientX - r.left, e.clientY - r.top)
  }, { passive: false })

  let drag = null
  let dragged = false
  view.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return
    drag = { x: e.clientX, y: e.clientY, tx, ty, moved: false }
    dragged = false
  })
  window.addEventListener("pointermove", (e) => {
    if (drag === null) return
    const dx = e.clientX - drag.x
    const dy = e.clientY - drag.y
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) > 4) {
      drag.moved = true
      view.classList.add("dragging")
    }
    if (drag.moved) {
      tx = drag.tx + dx
      ty = drag.ty + dy
      apply()
    }
  })
  window.addEventListener("pointerup", () => {
    if (drag === null) return
    dragged = drag.moved
    drag = null
    view.classList.remove("dragging")
  })

  // ----- The side panel -----
  const el = (tag, text, cls) => {
    const e = document.createElement(tag)
    if (text !== undefined) e.textContent = text
    if (cls !== undefined) e.className = cls
    return e
  }
  const KIND = { input: "input", weights: "weights", engine: "TensorRT engine", fallback: "PyTorch fallback segment", output: "output", fold: "folded chain" }
  const field = (dl, name, value) => {
    dl.append(el("dt", name), el("dd", value))
  }
  const table = (title, headers, rows, total) => {
    const section = el("section")
    section.append(el("h4", title + " (" + total + ")"))
    if (rows.length === 0) return section
    const t = el("table")
    const head = el("tr")
    for (const h of headers) head.append(el("th", h))
    t.append(head)
    for (const r of rows) {
      const tr = el("tr")
      for (const c of r) tr.append(el("td", c))
      t.append(tr)
    }
    section.append(t)
    if (total > rows.length) section.append(el("p", "… and " + (total - rows.length) + " more", "more"))
    return section
  }
  const ports = (title, list) =>
    table(title, ["name", "node", "type"], list.items.map((p) => [p.name, p.node === p.name ? "" : p.node, p.type]), list.total)

  let selected = null
  const mark = (id) => {
    if (selected !== null) selected.classList.remove("selected")
    selected = svg.querySelector('.box[data-id="' + id + '"]')
    if (selected !== null) selected.classList.add("selected")
  }

  const showBox = (id, back) => {
    const b = data.boxes[id]
    panel.replaceChildren()
    if (back !== undefined) {
      const button = el("button", "← back to the fold", "back")
      button.addEventListener("click", () => showFold(back))
      panel.append(button)
    }
    panel.append(el("p", KIND[b.kind], "kind"), el("h3", b.title))
    const r = b.record
    const dl = el("dl")
    field(dl, "size", r.size)
    if (r.engine !== null) {
      field(dl, "engine", r.engine.name)
      field(dl, "held as", r.engine.where)
      field(dl, "ABI", r.engine.abi)
      field(dl, "device", r.engine.device)
      field(dl, "platform", r.engine.platform)
      field(dl, "hardware compatible", r.engine.hardwareCompatible ? "yes" : "no")
    }
    panel.append(dl)
    if (r.inputs.total > 0 || b.kind === "engine" || b.kind === "fallback") panel.append(ports("inputs", r.inputs))
    if (r.outputs.total > 0 || b.kind === "engine" || b.kind === "fallback") panel.append(ports("outputs", r.outputs))
    if (b.kind === "fallback") {
      panel.append(table("ops", ["op", "count"], r.ops.map(([op, n]) => [op, String(n)]), r.ops.length))
      panel.append(table("nodes", ["node", "target"], r.nodes.items.map(([n, t]) => [n, t]), r.nodes.total))
    }
    if (b.kind === "engine") panel.append(el("h4", "ops"))
    if (r.note !== "") panel.append(el("p", r.note, "note"))
    mark(back !== undefined ? back : id)
  }

  const showFold = (id) => {
    const f = data.folds[id]
    panel.replaceChildren()
    panel.append(el("p", KIND.fold, "kind"), el("h3", f.title))
    for (const line of f.lines.slice(0, 2)) panel.append(el("p", line))
    panel.append(el("h4", "segments (" + f.members.length + "), in order"))
    const list = el("ol", undefined, "members")
    for (const m of f.members) {
      const b = data.boxes[m]
      const button = el("button", b.title + " · " + b.record.size, "member " + b.kind)
      button.addEventListener("click", () => showBox(String(m), id))
      const li = el("li")
      li.append(button)
      list.append(li)
    }
    panel.append(list)
    mark(id)
  }

  const show = (id) => (data.folds[id] !== undefined ? showFold(id) : showBox(id))
  view.addEventListener("click", (e) => {
    if (dragged) {
      dragged = false
      return
    }
    const box = e.target.closest(".box")
    if (box !== null) show(box.dataset.id)
  })
  view.addEventListener("keydown", (e) => {
    const box = e.target.closest(".box")
    if (box !== null && (e.key === "Enter" || e.key === " ")) {
      e.preventDefault()
      show(box.dataset.id)
    } else if (e.key === "+" || e.key === "=") zoomCentre(1.25)
    else if (e.key === "-") zoomCentre(0.8)
    else if (e.key === "0") fit()
  })
  document.getElementById("zoom-in").addEventListener("click", () => zoomCentre(1.25))
  document.getElementById("zoom-out").addEventListener("click", () => zoomCentre(0.8))
  document.getElementById("reset").addEventListener("click", fit)
  clampTexts()
  fit()
})()
`
