// The demo storefront: plain JavaScript over the public /api/v1 routes.
const api = (p) => fetch('/api/v1' + p).then((r) => r.ok ? r.json() : Promise.reject(r.status));
const yuan = (fen) => '¥' + (fen / 100).toFixed(2);
const LABELS = { bxbp: '百县百品', poverty_county: '贫困县', qualified_vendor: '合格扶贫企业', green: '绿色食品', organic: '有机', gi: '地理标志' };
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));

function card(p) {
  const tags = (p.labels || []).map((l) => `<span class="tag">${LABELS[l] || esc(l)}</span>`).join('');
  return `<div class="card" data-id="${p.id}"><h3>${esc(p.title)}</h3>
    <div class="price">${yuan(p.price_fen)} / ${esc(p.unit)}</div>
    <div>${esc(p.region.name)} · ${esc(p.county.name)}</div><div>${tags}</div></div>`;
}

function grid(el, items) {
  el.innerHTML = items.map(card).join('');
  el.querySelectorAll('.card').forEach((c) => c.onclick = () => detail(c.dataset.id));
}

async function detail(id) {
  const p = await api('/products/' + id);
  const batches = p.batches.map((b) => `<li>${esc(b.code)}（${b.produced_on}）溯源码 <code>${b.trace_code}</code></li>`).join('');
  const tiers = p.price_tiers.map((t) => `${t.min_qty}件起 ${yuan(t.unit_price_fen)}`).join('，');
  document.getElementById('detail-body').innerHTML = `<h2>${esc(p.title)}</h2><p>${esc(p.description)}</p>
    <p class="price">${yuan(p.price_fen)} / ${esc(p.unit)}　库存 ${p.stock}</p><p>阶梯价：${tiers}</p>
    <p>商家：${esc(p.vendor.name)}（信用 ${p.vendor.credit_level}${p.vendor.qualified ? '，合格扶贫企业' : ''}）</p>
    <ul>${batches}</ul>`;
  document.getElementById('detail').showModal();
}

async function channel() {
  const ch = await api('/channel');
  document.getElementById('campaigns').innerHTML = ch.campaigns.map((c) =>
    `<div class="campaign"><strong>${esc(c.title)}</strong> ${esc(c.theme)}</div>`).join('');
  const root = document.getElementById('sections');
  root.innerHTML = ch.sections.map((s, i) => `<section><h2>${esc(s.title)}</h2><div class="grid" id="sec${i}"></div></section>`).join('');
  ch.sections.forEach((s, i) => grid(document.getElementById('sec' + i), s.items));
}

async function show(title, query) {
  const r = await api('/products?' + query);
  document.getElementById('results').hidden = false;
  document.getElementById('results-title').textContent = `${title}（${r.total}）`;
  grid(document.getElementById('results-grid'), r.items);
}

async function regions() {
  const r = await api('/regions');
  const nav = document.getElementById('regions');
  nav.innerHTML = r.items.map((g) => `<a data-code="${g.code}">${esc(g.name)}（${g.kind}）</a>`).join('');
  nav.querySelectorAll('a').forEach((a) => a.onclick = () => show(a.textContent, 'per_page=40&region=' + a.dataset.code));
}

document.getElementById('search').onsubmit = (e) => {
  e.preventDefault();
  const q = new FormData(e.target).get('q').trim();
  if (q) show('搜索：' + q, 'per_page=40&q=' + encodeURIComponent(q));
};
document.getElementById('trace').onsubmit = async (e) => {
  e.preventDefault();
  const code = new FormData(e.target).get('code').trim();
  const out = document.getElementById('trace-out');
  try { out.textContent = JSON.stringify(await api('/trace/' + encodeURIComponent(code)), null, 2); }
  catch (err) { out.textContent = err === 404 ? '未找到该溯源码' : '查询失败'; }
};
regions(); channel();
