import assert from "node:assert/strict";
import { test } from "node:test";
import { RESEND_FLOOR_BPS, RESEND_WINDOW_MS, ResendBudget, resendRateBps } from "./resend-budget.js";

test("a resend budget starts full with a window of its rate, lets the last resend overdraw it, and refills at the rate", () => {
  const budget = new ResendBudget();
  const rate = 160_000; // 20,000 bytes a second: 10,000 in a window
  assert.equal(RESEND_WINDOW_MS, 500);
  budget.refill(0, rate);
  let sent = 0;
  while (budget.open && sent < 100) {
    budget.spend(1200);
    sent++;
  }
  assert.equal(sent, 9, "10,000 bytes: eight whole resends of 1,200 and a ninth overdrawing it");
  budget.refill(30, rate);
  assert.equal(budget.open, false, "30 ms later 600 bytes came back: the overdraw was 800");
  budget.refill(50, rate);
  assert.equal(budget.open, true, "50 ms after the start, 1,000");
  budget.spend(1200);
  assert.equal(budget.open, false);
  budget.refill(10_000, rate);
  sent = 0;
  while (budget.open && sent < 100) {
    budget.spend(1200);
    sent++;
  }
  assert.equal(sent, 9, "after a long pause, no more than a window's worth");
});

test("a resend budget without a rate lets everything go, and starts full when a rate comes", () => {
  const budget = new ResendBudget();
  budget.refill(0, Infinity);
  for (let i = 0; i < 1000; i++) budget.spend(1200);
  assert.equal(budget.open, true);
  budget.refill(5, 0);
  assert.equal(budget.open, true, "a rate of 0 (unknown) is no limit");
  budget.refill(10, 16_000);
  budget.spend(999);
  assert.equal(budget.open, true, "1,000 bytes in a window at 16 kbit/s");
  budget.spend(1);
  assert.equal(budget.open, false);
});

test("resends are limited by what the link is known to carry: its estimate, or what got through of a heavily lossy layer", () => {
  assert.equal(resendRateBps(0, undefined, 1_500_000), Infinity, "nothing known yet");
  assert.equal(resendRateBps(0, 0.22, 1_500_000), Infinity, "before an estimate, a moderate loss (or a jittery link's late packets) limits nothing");
  assert.equal(resendRateBps(0, 0.75, 1_600_000), 400_000, "most of it lost: what got through");
  assert.equal(resendRateBps(0, 0.99, 1_500_000), RESEND_FLOOR_BPS, "never below the floor");
  assert.equal(resendRateBps(500_000, undefined, 1_500_000), 500_000, "the estimate");
  assert.equal(resendRateBps(500_000, 0.25, 1_000_000), 750_000, "the larger of the estimate and what got through");
  assert.equal(resendRateBps(20_000, 0.75, 100_000), RESEND_FLOOR_BPS, "an estimate below the floor");
});
