/**
 * The SDK's names for the gateway's request and response bodies, all taken from the generated
 * OpenAPI types (src/generated/gateway.ts, `npm run generate`): nothing here is written by hand
 * except the `source` the SDK adds to a prediction.
 */
import type { paths } from "./generated/gateway.js";

type Json<T> = T extends { content: { "application/json": infer Body } } ? Body : never;
type Ok<Operation> = Operation extends { responses: { 200: infer Answer } } ? Json<Answer> : never;
type Created<Operation> = Operation extends { responses: { 201: infer Answer } } ? Json<Answer> : never;
type JsonBody<Operation> = Operation extends { requestBody: { content: { "application/json": infer Body } } }
  ? Body
  : never;
type FormBody<Operation> = Operation extends { requestBody: { content: { "multipart/form-data": infer Body } } }
  ? Body
  : never;
type ErrorOf<Operation> = Operation extends { responses: { 429: infer Answer } } ? Json<Answer> : never;

/** `POST /predict` and `POST /predict_base64`: the server's answer. */
export type PredictionOut = Ok<paths["/predict"]["post"]>;
/** The multipart form of `POST /predict` (its one field names the photo). */
export type PredictForm = FormBody<paths["/predict"]["post"]>;
/** `POST /predict_base64`'s body. */
export type Base64Image = JsonBody<paths["/predict_base64"]["post"]>;
/** `POST /feedback`'s body: quote the prediction's `prediction_id` and `feedback_token`. */
export type FeedbackIn = JsonBody<paths["/feedback"]["post"]>;
export type FeedbackOut = Created<paths["/feedback"]["post"]>;
/** `GET /health`. */
export type HealthOut = Ok<paths["/health"]["get"]>;
/** `GET /model`: the public model card. */
export type ModelCardOut = Ok<paths["/model"]["get"]>;
/** `GET /models/current`: the served version for on-device use. */
export type CurrentModel = Ok<paths["/models/current"]["get"]>;
/** One on-device file of the served version. */
export type DeviceFormat = CurrentModel["formats"][number];
export type RiskThresholds = CurrentModel["risk_thresholds"];
/** Every error the gateway answers: `{"error": code, "detail": reason}`. */
export type ErrorBody = ErrorOf<paths["/predict"]["post"]>;

export type PredictedClass = PredictionOut["predicted_class"];
export type RiskLevel = PredictionOut["risk_level"];
export type Probabilities = PredictionOut["probabilities"];
export type FeedbackLabel = FeedbackIn["actual_label"];

/** A prediction answered by the gateway; `from_client_cache` when this SDK's cache answered it
 * (the same `prediction_id` and `feedback_token` as when it was first answered). */
export type ServerPrediction = PredictionOut & { source: "server"; from_client_cache: boolean };

/** A prediction made on the device by `DeviceClassifier`: the server's fields that a model run
 * gives (no image quality, request id or feedback token: nothing was sent). */
export type DevicePrediction = Pick<
  PredictionOut,
  "predicted_class" | "confidence" | "probabilities" | "risk_level" | "model" | "notice"
> & { source: "device" };

export type PredictionResult = ServerPrediction | DevicePrediction;
