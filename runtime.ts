/**
 * Process settings every role shares, kept apart from hub/ so that `ops` (manifests, env files) can name them
 * without loading the hub.
 */
/**
 * The glibc malloc settings the hub is run with (GLIBC_TUNABLES; read by glibc at process start, so the launcher,
 * the detached `hub start`, the container images, the systemd unit and the Kubernetes manifests set it). Without
 * fastbins, malloc no longer runs its consolidation passes, which took about a fifth of the main thread's time under
 * load; a padded, untrimmed heap top stops the per-batch page faults. Measured in docs/performance.md.
 */
export const GLIBC_TUNABLES =
  "glibc.malloc.mxfast=0:glibc.malloc.trim_threshold=134217728:glibc.malloc.top_pad=33554432";
