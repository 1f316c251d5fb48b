// OpenMP's wait policy, chosen before LibTorch's OpenMP runtime starts.
//
// Why: by default libgomp's idle workers spin while they wait for the next parallel region. On the 2-core virtual
// machines emotune is developed and tested on, that made every LibTorch op of the embedded default's workloads
// about 2.4x slower than with sleeping workers (docs/benchmarks.md, "OpenMP wait policy"). libgomp reads
// OMP_WAIT_POLICY once, when it is loaded -- before main() -- so a process that wants another policy must start
// with it in its environment.
#pragma once

namespace emotune {

// Unless OMP_WAIT_POLICY is already set (a user's choice always wins; set it to ACTIVE to keep spinning), sets it to
// PASSIVE and restarts this executable with the same arguments. Returns only when no restart was needed or the
// restart failed (then the process goes on with libgomp's default policy).
void restart_with_passive_openmp(char** argv);

}  // namespace emotune
