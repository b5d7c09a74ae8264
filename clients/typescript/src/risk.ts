/** From class probabilities to the class, its confidence and a risk level: the gateway's rule
 * (`skinguard_gateway.predictions.risk.assess`), with the served version's thresholds. */
import type { PredictedClass, RiskLevel, RiskThresholds } from "./types.js";

export interface Assessment {
  predicted_class: PredictedClass;
  confidence: number;
  risk_level: RiskLevel;
}

/** Malignant when its probability reaches `decisionThreshold`; the risk from the predicted
 * class's probability against `thresholds` (strictly above each bound). */
export function assess(
  probabilities: { benign: number; malignant: number },
  decisionThreshold: number,
  thresholds: RiskThresholds,
): Assessment {
  const { benign, malignant } = probabilities;
  if (malignant >= decisionThreshold) {
    const risk: RiskLevel =
      malignant > thresholds.malignant_high
        ? "high"
        : malignant > thresholds.malignant_medium_high
          ? "medium-high"
          : "medium";
    return { predicted_class: "Malignant", confidence: malignant, risk_level: risk };
  }
  const risk: RiskLevel =
    benign > thresholds.benign_low ? "low" : benign > thresholds.benign_low_medium ? "low-medium" : "medium";
  return { predicted_class: "Benign", confidence: benign, risk_level: risk };
}
