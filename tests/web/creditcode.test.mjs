// The workspace's GB 32100 check (assets/src/workspace/creditcode.ts)
// against codes the server accepts (demo data) and against the C module's
// alphabet and weights (modules/creditcode.c), with Node's test runner.
// Run by scripts/web.sh test.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..')
const require = createRequire(join(ROOT, 'assets/package.json'))
const ts = require('typescript')
const src = readFileSync(join(ROOT, 'assets/src/workspace/creditcode.ts'), 'utf8')
const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2020 } }).outputText
const dir = mkdtempSync(join(tmpdir(), 'bangfu-cc-'))
writeFileSync(join(dir, 'creditcode.mjs'), js)
const cc = await import(join(dir, 'creditcode.mjs'))
rmSync(dir, { recursive: true, force: true })

test('codes the server accepts are valid', () => {
  for (const c of ['91310000132260859U', '935333253608724358', '91520325391827610Q']) {
    assert.equal(cc.valid(c), true, c)
    assert.equal(cc.explain(c), '', c)
  }
})

test('a wrong check character names the right one', () => {
  assert.equal(cc.valid('91310000132260859A'), false)
  assert.equal(cc.explain('91310000132260859A'), '校验位不符：第 18 位应为 U，请核对前 17 位')
  assert.equal(cc.checkChar('91310000132260859'), 'U')
})

test('length and alphabet are said while typing', () => {
  assert.equal(cc.explain(''), '')
  assert.equal(cc.explain('9131'), '还差 14 位（共 18 位）')
  assert.equal(cc.explain('91310000132260859UU'), '多了 1 位（共 18 位）')
  assert.match(cc.explain('9131000013226O859U'), /第 14 位“O”不是信用代码中的字符/)
  assert.equal(cc.explain(' 91310000132260859u '), '', 'trimmed and upper-cased')
})

test('the same alphabet and weights as modules/creditcode.c', () => {
  const c = readFileSync(join(ROOT, 'modules/creditcode.c'), 'utf8')
  assert.ok(c.includes(`"${cc.ALPHABET}"`), 'alphabet')
  const w = /creditcode_weights\[17\] = \{([^}]*)\}/.exec(c)[1].split(',').map((x) => Number(x.trim()))
  const tsw = /WEIGHTS = \[([^\]]*)\]/.exec(src)[1].split(',').map((x) => Number(x.trim()))
  assert.deepEqual(tsw, w)
})

test('a check character of 0 (31 - sum % 31 = 31)', () => {
  // Find a 17-character body whose sum is a multiple of 31: its check is '0'.
  for (let i = 0; i < 31; i++) {
    const body = '9131000013226085' + cc.ALPHABET[i]
    if (cc.checkChar(body) === '0') {
      assert.equal(cc.valid(body + '0'), true)
      return
    }
  }
  assert.fail('no body with check 0 found')
})
