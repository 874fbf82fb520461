/** Just enough XML to write a libvirt domain: elements, attributes, text and comments, indented by two. */

export type XmlNode = XmlElement | { comment: string };

export interface XmlElement {
  name: string;
  attrs: Record<string, string | number | undefined>;
  children: XmlNode[];
  text?: string;
}

type Child = XmlNode | undefined | false | Child[];

/** `el('rom', { file, bar: undefined })`: attributes whose value is undefined are left out, as are children that are undefined or false. */
export function el(name: string, attrs: XmlElement['attrs'] = {}, ...children: Child[]): XmlElement {
  return { name, attrs, children: (children.flat(Infinity as 1) as (XmlNode | undefined | false)[]).filter((child): child is XmlNode => Boolean(child)) };
}

/** An element holding text only: `<name>mediapc</name>`. */
export const textEl = (name: string, text: string | number, attrs: XmlElement['attrs'] = {}): XmlElement => ({ name, attrs, children: [], text: String(text) });

// A comment cannot hold `--`; the text is for people, so a space between the dashes does.
export const comment = (text: string): XmlNode => ({ comment: text.replace(/-(?=-)/g, '- ') });

const escapeText = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
const escapeAttr = (text: string) => escapeText(text).replaceAll("'", '&apos;');

/** Single-quoted attributes, as virsh dumpxml writes them. */
export function renderXml(node: XmlNode, indent = ''): string {
  if ('comment' in node) return `${indent}<!-- ${node.comment} -->\n`;
  const attrs = Object.entries(node.attrs)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => ` ${key}='${escapeAttr(String(value))}'`)
    .join('');
  if (node.text !== undefined) return `${indent}<${node.name}${attrs}>${escapeText(node.text)}</${node.name}>\n`;
  if (node.children.length === 0) return `${indent}<${node.name}${attrs}/>\n`;
  return `${indent}<${node.name}${attrs}>\n${node.children.map((child) => renderXml(child, `${indent}  `)).join('')}${indent}</${node.name}>\n`;
}
