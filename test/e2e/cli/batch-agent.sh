#!/bin/bash
# batch-agent.sh — Run agent tasks in parallel with budget controls
TASKS=(
"repo1|Fix all type errors|3"
"repo2|Add unit tests for utils/|5"
"repo3|Refactor database layer|8"
"repo4|Update dependencies and fix breaking changes|4"
)
SANDBOX_IDS=()
# Launch all sandboxes
for task in "${TASKS[@]}"; do
IFS='|' read -r repo prompt budget <<< "$task"
SANDBOX_ID=$(caged run \
--template node-20 \
--cpus 2 \
--memory 2048 \
--repo "$REPOS/$repo" \
--budget "$budget" \
--env "ANTHROPIC_API_KEY=$ANTHROPIC_API_KEY" \
--json | jq -r '.id')
echo "[$repo] Sandbox: $SANDBOX_ID (budget: \$$budget)"
SANDBOX_IDS+=("$SANDBOX_ID|$repo|$prompt")
done
# Run agent in each sandbox
for entry in "${SANDBOX_IDS[@]}"; do
IFS='|' read -r id repo prompt <<< "$entry"
echo "[$repo] Running: $prompt"
caged exec "$id" "claude -p '$prompt'" &
done
# Wait for all background jobs
wait
# Report results
echo ""
echo "=== Batch Results ==="
caged list --json | jq -r '.[] | "\(.id)\t\(.status)\t$\(.cost)/\(.budget)"'
caged list --json | jq '[.[].cost] | add | "Total: $\(.)"'
# Cleanup
for entry in "${SANDBOX_IDS[@]}"; do
IFS='|' read -r id _ _ <<< "$entry"
caged destroy "$id" --force
done
