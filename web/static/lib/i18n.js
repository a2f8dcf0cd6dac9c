// Text and number formatting of the Link page: the message catalog of the page's
// language (from the boot data) and Intl formatters for money and crypto amounts.

/**
 * @param {Record<string, string>} messages
 * @param {string} lang
 * @param {string} fiatCur
 */
export function makeText(messages, lang, fiatCur) {
  /**
   * The message key in the page's language, with {name} placeholders filled.
   * @param {string} key
   * @param {Record<string, string>} [vars]
   * @returns {string}
   */
  function t(key, vars) {
    let s = messages[key] || key;
    if (vars) for (const [k, v] of Object.entries(vars)) s = s.split('{' + k + '}').join(v);
    return s;
  }
  /**
   * What to tell the user about a failed call: the catalog's text for its errorType,
   * else the server's display message (English: only on an English page), else a
   * generic one in the page's language.
   * @param {import('./types.js').ApiError | null | undefined} err
   * @returns {string}
   */
  function errorText(err) {
    const key = 'err.' + (err && err.type);
    if (messages[key]) return messages[key];
    return (lang === 'en' && err && err.display) || t('err.generic');
  }
  /**
   * A formatter of amounts in currency cur, in the page's language.
   * @param {string} cur ISO 4217 code
   * @returns {Intl.NumberFormat}
   */
  function moneyIn(cur) {
    try {
      return new Intl.NumberFormat(lang, { style: 'currency', currency: cur });
    } catch {
      return new Intl.NumberFormat('en', { style: 'currency', currency: 'USD' });
    }
  }
  // Values come in USD (the exchanges' rates); they are shown in fiatCur only where the
  // exchange's rate for it is known (portfolio.js), never merely relabelled.
  void fiatCur;
  const money = moneyIn('USD');
  const amount = new Intl.NumberFormat(lang, { maximumFractionDigits: 8 });
  const time = new Intl.DateTimeFormat(lang, { hour: '2-digit', minute: '2-digit' });
  return { t, errorText, money, moneyIn, amount, time };
}
