/**
 * Historic customer lifetime value (DESIGN.md):
 *
 *   LTV = S x C x P x t,   CLV (value per month) = S x C x P
 *
 * S = average order value (revenue / orders), C = average orders per customer per month of
 * lifetime, P = margin share (margin / revenue), t = average customer lifetime in months
 * (first to last purchase, at least one month: a one-time buyer lived one month).
 * With these definitions S x C x t is the segment's revenue per customer, so LTV is its
 * margin per customer; each factor is stored beside the product so that an analyst can see
 * which one moved.
 */
import type { Count, Money, Rate } from './types.js';

export interface LtvInputs {
  customers: Count;
  orders: Count;
  revenue: Money;
  margin: Money;
  /** Sum over customers of their lifetime in months. */
  lifetimeMonths: number;
}

export interface Ltv {
  avgOrderValue: Money | null; // S
  ordersPerMonth: number | null; // C
  marginShare: Rate | null; // P
  lifetimeMonths: number | null; // t
  ltv: Money | null;
  clv: Money | null;
}

export function historicLtv(x: LtvInputs): Ltv {
  if (x.customers <= 0 || x.orders <= 0) {
    return { avgOrderValue: null, ordersPerMonth: null, marginShare: null, lifetimeMonths: null, ltv: null, clv: null };
  }
  const S = x.revenue / x.orders;
  const t = x.lifetimeMonths / x.customers;
  const C = x.orders / x.customers / t;
  const P = x.revenue !== 0 ? x.margin / x.revenue : null;
  return {
    avgOrderValue: S,
    ordersPerMonth: C,
    marginShare: P,
    lifetimeMonths: t,
    clv: P === null ? null : S * C * P,
    ltv: P === null ? null : S * C * P * t,
  };
}
