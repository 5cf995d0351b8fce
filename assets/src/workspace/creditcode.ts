// GB 32100-2015 统一社会信用代码: 18 characters from a 31-character alphabet
// (no I, O, S, V, Z); the 18th is a check character over the first 17 with
// the weights 3^i mod 31.  Ported from modules/creditcode.c, which the
// server uses; tests/web/creditcode.test.mjs checks both agree.

export const ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY'
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
export const LEN = 18

/** The check character for the first 17 characters, or null if one is not in the alphabet. */
export function checkChar(code: string): string | null {
  if (code.length < 17) return null
  let sum = 0
  for (let i = 0; i < 17; i++) {
    const v = ALPHABET.indexOf(code[i])
    if (v < 0) return null
    sum += v * WEIGHTS[i]
  }
  let c = 31 - (sum % 31)
  if (c === 31) c = 0
  return ALPHABET[c]
}

export function valid(code: string): boolean {
  return code.length === LEN && checkChar(code) === code[17]
}

/** What to say while the code is typed: '' when it is valid or still empty. */
export function explain(raw: string): string {
  const code = raw.trim().toUpperCase()
  if (code === '') return ''
  for (let i = 0; i < code.length; i++) {
    if (ALPHABET.indexOf(code[i]) < 0) return `第 ${i + 1} 位“${code[i]}”不是信用代码中的字符（不用 I、O、S、V、Z）`
  }
  if (code.length < LEN) return `还差 ${LEN - code.length} 位（共 18 位）`
  if (code.length > LEN) return `多了 ${code.length - LEN} 位（共 18 位）`
  const c = checkChar(code)
  if (c !== code[17]) return `校验位不符：第 18 位应为 ${c}，请核对前 17 位`
  return ''
}
