// What tests/test_browser_pages.py measures on each page: axe-core's violations, sideways scrolling,
// tap targets under 44 px (inline links in running text are exempt, as in WCAG 2.5.8) and the page's text.
(axeTags) => {
  const root = document.documentElement;
  const wide = [...document.body.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > root.clientWidth + 1)
    .slice(0, 3).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '') + ' ' + Math.round(e.getBoundingClientRect().right));
  const small = [];
  for (const el of document.querySelectorAll('a[href], button, select, input[type=checkbox], input[type=radio], summary')) {
    const target = el.closest('label') || el;
    const style = getComputedStyle(target);
    const box = target.getBoundingClientRect();
    if (!box.width || style.display === 'inline' || style.visibility === 'hidden') continue;
    if (box.height < 43.5 || box.width < 43.5) small.push(target.outerHTML.slice(0, 80) + ' ' + Math.round(box.width) + 'x' + Math.round(box.height));
  }
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.parentElement.closest('code, [translate=no], script, style, svg, .url')) texts.push(node.textContent);
  }
  return axe.run(document, {runOnly: {type: 'tag', values: axeTags}, resultTypes: ['violations']}).then(r => ({
    violations: r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')),
    scrolls: root.scrollWidth > root.clientWidth, wide, small, text: texts.join(' '),
  }));
}
