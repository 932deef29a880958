// Does the browser build the tree the server wrote? React renders markup with every element closed
// where it meant it; a browser parses that markup by the HTML standard's rules, which close a <p>
// before a <form>, insert a <tbody>, move stray content out of a <table>. Where the two trees differ,
// hydration fails ("In HTML, <form> cannot be a descendant of <p>"). parse5 follows the standard's
// tree construction, and remembers where in the source each element's tags were.
import { parse, type DefaultTreeAdapterMap } from 'parse5'

type Node = DefaultTreeAdapterMap['node']
type Element = DefaultTreeAdapterMap['element']

// Elements without an end tag in HTML.
const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr'])

const isElement = (node: Node): node is Element => 'tagName' in node

/** Every place where the parsed tree is not the one the markup's tags spell out; [] when they agree. */
export function misnested(html: string): string[] {
  const problems: string[] = []
  const where = (element: Element) => {
    const at = element.sourceCodeLocation
    return at ? `line ${at.startLine} col ${at.startCol}` : 'no source position'
  }
  const visit = (parent: Node) => {
    const children = 'content' in parent ? parent.content.childNodes : 'childNodes' in parent ? parent.childNodes : []
    let previous: Element | undefined
    for (const child of children) {
      if (!isElement(child)) continue
      const at = child.sourceCodeLocation
      const parentName = isElement(parent) ? `<${parent.tagName}>` : 'the document'
      if (!at?.startTag) {
        problems.push(`<${child.tagName}> in ${parentName} has no start tag in the markup: the parser made it (${where(child)})`)
      } else if (!VOID.has(child.tagName) && !at.endTag) {
        problems.push(`<${child.tagName}> at ${where(child)} was closed by the parser, not by its own end tag (a child it cannot hold?)`)
      } else if (previous?.sourceCodeLocation && at.startOffset < previous.sourceCodeLocation.endOffset) {
        problems.push(`<${previous.tagName}> at ${where(previous)} and <${child.tagName}> at ${where(child)} are out of source order: the parser moved one of them`)
      }
      previous = child
      visit(child)
    }
  }
  visit(parse(html, { sourceCodeLocationInfo: true }))
  return problems
}
