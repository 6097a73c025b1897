// Validates custom resources for the Strimzi and CloudNativePG operators against the
// OpenAPI schemas of those operators' CRDs, as compiled by the @kubernetes-models packages
// pinned in package-lock.json (Strimzi 0.49 CRDs; CloudNativePG's API types).
//
// Input on stdin: a JSON array of resources. Output on stdout: a JSON array with, for
// each resource, {apiVersion, kind, name, errors}; errors is empty when it is valid.
// A resource of a group or kind without a schema here is an error, never a pass.

const MODELS = {
  "kafka.strimzi.io/v1": "@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1",
  "postgresql.cnpg.io/v1": "@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1",
};

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

async function check(resource) {
  const { apiVersion, kind } = resource;
  const name = resource.metadata?.name ?? "";
  const prefix = MODELS[apiVersion];
  if (!prefix) return { apiVersion, kind, name, errors: [`no schema for ${apiVersion}`] };
  let Model;
  try {
    Model = (await import(`${prefix}/${kind}`))[kind];
  } catch {
    Model = undefined;
  }
  if (!Model) return { apiVersion, kind, name, errors: [`no schema for ${apiVersion} ${kind}`] };
  try {
    new Model(resource).validate();
    return { apiVersion, kind, name, errors: [] };
  } catch (error) {
    return { apiVersion, kind, name, errors: String(error.message).split(", ") };
  }
}

const resources = await readStdin();
const results = [];
for (const resource of resources) results.push(await check(resource));
process.stdout.write(JSON.stringify(results));
