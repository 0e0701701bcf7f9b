/**
 * The SVG the CLI writes, parsed with fast-xml-parser (after its strict
 * well-formedness check) into a small element tree for assertions.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** Text directly inside the element, entities decoded. */
  readonly text: string;
  readonly children: readonly XmlElement[];
}

type OrderedNode = Record<string, unknown> & { ':@'?: Record<string, string> };

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: false,
});

/** Parses `source`, or throws with the first well-formedness problem. */
export function parseXml(source: string): XmlElement {
  const valid = XMLValidator.validate(source);
  if (valid !== true) throw new Error(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`);
  const roots = toElements(parser.parse(source) as OrderedNode[]).filter((e) => e.name !== '?xml');
  if (roots.length !== 1) throw new Error(`expected one root element, got ${roots.length}`);
  return roots[0]!;
}

function toElements(nodes: readonly OrderedNode[]): XmlElement[] {
  const out: XmlElement[] = [];
  for (const node of nodes) {
    const name = Object.keys(node).find((k) => k !== ':@');
    if (name === undefined || name === '#text' || name === '#comment') continue;
    const inner = node[name] as OrderedNode[];
    const text = inner.filter((c) => '#text' in c).map((c) => String(c['#text'])).join('');
    out.push({ name, attributes: node[':@'] ?? {}, text: text.trim() === '' ? '' : text, children: toElements(inner) });
  }
  return out;
}

/** Every element of the tree, depth first. */
export function allElements(root: XmlElement): XmlElement[] {
  return [root, ...root.children.flatMap(allElements)];
}
