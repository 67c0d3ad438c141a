/**
 * Money and time as the vendors write them: yuan strings with two decimals of integer fen (Alipay, and the
 * sandbox's cashier page), Beijing dates and timestamps (bills, Alipay's times). Defined in common/ for the
 * whole service; named here so the sandbox reaches them through the wire module alone.
 */
export { fenToYuan, yuanToFen } from '../../common/money';
export { beijingDate, beijingTimestamp, fromBeijingTimestamp } from '../../common/beijing-time';
