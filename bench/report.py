"""Turns bench.py's results into report.md and chart.png (matplotlib)."""

from __future__ import annotations

from pathlib import Path


def fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def write(results: dict, out: Path) -> None:
    chart(results, out / "chart.png")
    (out / "report.md").write_text(markdown(results, "chart.png"))


def markdown(results: dict, chart_name: str) -> str:
    if results["settings"]["mode"] == "tracing":
        return tracing_markdown(results)
    machine = results["machine"]
    settings = results["settings"]
    limits = results["limits"]
    bcrypt = limits["bcrypt"]
    pgbench = limits["pgbench"]
    lines = [
        "# Benchmark report",
        "",
        f"Run on {machine['date']} on `{machine['hostname']}`: {machine['cpu_model']}, {machine['cores']} cores, "
        f"{machine['memory_gib']} GiB, Linux {machine['kernel']}; {machine['swift']}; {machine['postgres']}; "
        f"{machine['wrk']}.",
        "",
        "**A shared 2-core machine:** the load generator (wrk), PostgreSQL and the server run on the same two cores "
        "and compete for them, so every number below is lower than what the server does on its own hardware. "
        "The CPU columns show who used the cores.",
        "",
        f"Mode `{settings['mode']}`: {'debug' if settings['mode'] == 'smoke' else 'release'} build, PostgreSQL on loopback "
        f"({', '.join(f'{k}={v}' for k, v in settings['postgres'].items())}), bcrypt cost {settings['bcrypt_cost']}, "
        f"database pool {settings['database_pool']}, HASH_QUEUE_BUDGET_MS {settings['hash_queue_budget_ms']}, "
        f"{fmt(settings['phase_seconds'], 0)} s per phase, wrk with one thread, closed loop, "
        "console email transport writing to a file.",
        "",
        "## Limits measured in the same run",
        "",
        f"- bcrypt cost {bcrypt['cost']} on one core: **{fmt(bcrypt['median_ms'])} ms** per hash (median of "
        f"{bcrypt['iterations']}; min {fmt(bcrypt['min_ms'])}, max {fmt(bcrypt['max_ms'])}; the faster of the medians "
        f"before and after the phases, the other {fmt(bcrypt.get('other_median_ms'))} ms) → hash-bound ceiling "
        f"on {bcrypt['cores']} cores: **{fmt(bcrypt['ceiling_per_second'], 2)} registrations or logins per second**.",
        f"- pgbench, `{pgbench['statement']}` over {pgbench['rows']:,} rows, {pgbench['clients']} clients, "
        f"prepared: **{fmt(pgbench['tps'], 0)} TPS** (average latency {fmt(pgbench['latency_avg_ms'], 2)} ms).",
    ]
    same = limits.get("pgbench_verify_statement")
    if same:
        lines.append(
            f"- pgbench, the server's own verification statement (`UseVerificationToken.sql`: lock the account, "
            f"activate it, mark the token used, delete the account's other tokens) over {same['rows']:,} pending "
            f"accounts made by SQL, {same['clients']} clients, prepared: **{fmt(same['tps'], 0)} TPS**, measured "
            "after the phases with the server stopped."
        )
    pyca = limits.get("pyca_bcrypt")
    if pyca:
        lines.append(
            f"- pyca/bcrypt {pyca['version']} (the peer's implementation) at the same cost on one core: "
            f"**{fmt(pyca['median_ms'])} ms** → ceiling **{fmt(pyca['ceiling_per_second'], 2)}/s** (the fastest-bcrypt "
            f"target's reference); the server's bcrypt above is `{bcrypt.get('implementation', '?')}`."
        )
    rotation = limits.get("pgbench_rotation")
    if rotation:
        lines.append(
            f"- pgbench, {rotation['statement']}, over {rotation['rows']:,} tokens made by SQL, {rotation['clients']} "
            f"clients, prepared: **{fmt(rotation['tps'], 0)} TPS** (the refresh phase's limit), measured after the phases."
        )
    same_rotation = limits.get("pgbench_rotation_statement")
    if same_rotation:
        lines.append(
            f"- pgbench, {same_rotation['statement']}, over {same_rotation['rows']:,} fresh tokens made by SQL, "
            f"{same_rotation['clients']} clients, prepared: **{fmt(same_rotation['tps'], 0)} TPS**, measured after the phases."
        )
    if results.get("accounts_at_baseline"):
        lines.append(f"- Accounts in the database during the first verification phase: {results['accounts_at_baseline']:,}.")
    lines += [
        f"- Start-up to ready (`/health/ready` = 200) on a migrated database: "
        f"{', '.join(fmt(v, 0) + ' ms' for v in results['startup_ms'])}.",
        f"- Server resident memory, peak over the whole run: **{fmt(results['server_rss_peak_mb'])} MB**.",
        "",
        "## Phases",
        "",
        f"![latency percentiles and throughput per phase]({chart_name})",
        "",
        "Latency is what wrk saw (client side). Server side is the server's own access-log duration, "
        "split by status. CPU is in cores (1.0 = one core busy for the whole phase).",
        "",
        "| phase | endpoint | conns | req/s | 2xx/s | p50 ms | p95 ms | p99 ms | statuses | server side p95 by status "
        "| CPU server / postgres / wrk | RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|---|---:|",
    ]
    for phase in results["phases"]:
        cpu = phase["cpu"]
        for load in phase["loads"]:
            statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(load["statuses"].items())) or (
                f"non-2xx: {load['non_2xx']:,}"
            )
            if load["socket_errors"] or load["timeouts"]:
                statuses += f"; socket errors {load['socket_errors']}, timeouts {load['timeouts']}"
            server_side = ", ".join(
                f"{status}: {fmt(values['p95_ms'], 2)} ({values['count']:,})"
                for status, values in load["server_side"].items()
            )
            lines.append(
                f"| {phase['name']} | {load['endpoint']} | {load['connections']} | {fmt(load['rps'])} | "
                f"{fmt(load['ok_rps'])} | {fmt(load['p50_ms'], 2)} | {fmt(load['p95_ms'], 2)} | "
                f"{fmt(load['p99_ms'], 2)} | {statuses} | {server_side} | "
                f"{cpu['server_cores']:.2f} / {cpu['postgres_cores']:.2f} / {cpu['wrk_cores']:.2f} | "
                f"{fmt(phase['server_rss_peak_mb'])} |"
            )
    lines += ["", "Outcome counters (from `/metrics`, per phase):", ""]
    for phase in results["phases"]:
        if phase["counters"]:
            counters = ", ".join(f"`{k}` {int(v):,}" for k, v in sorted(phase["counters"].items()))
            lines.append(f"- {phase['name']}: {counters}")
    lines += tracing_section(results)
    lines += [
        "",
        "## Targets (issues 7, 16 and 17)",
        "",
        "| target | measured | ratio | met |",
        "|---|---|---|---|",
    ]
    for target in results["targets"]:
        lines.append(
            f"| {target['target']} | {target['measured']} | {target['ratio']} | {'yes' if target['met'] else '**no**'} |"
        )
    lines += [
        "",
        "## Against the peer",
        "",
        "fastapi-users 15 on uvicorn with 2 workers, asyncpg, bcrypt cost 12, measured on the same kind of machine "
        "(numbers from issue 7):",
        "",
        "| workload | peer req/s | peer p95 ms | ours 2xx/s | ours p95 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    from bench import PEER, find_phase, load_of  # noqa: PLC0415

    for name, peer in PEER.items():
        endpoint = name.split("-")[0]
        load = load_of(find_phase(results, name), endpoint)
        if load:
            lines.append(
                f"| {name.replace('-', ', ')} connections | {peer['rps']} | {peer['p95_ms']:,} | "
                f"{fmt(load['ok_rps'], 2)} | {fmt(load['p95_ms'], 1)} |"
            )
    findings = Path(__file__).resolve().parent / "findings.md"
    if findings.exists():
        lines += ["", findings.read_text().rstrip()]
    lines.append("")
    return "\n".join(lines)


def tracing_markdown(results: dict) -> str:
    """The report of `bench/run --tracing`: only the tracing phases and their target."""
    machine, settings = results["machine"], results["settings"]
    lines = [
        "# Tracing overhead report",
        "",
        f"Run on {machine['date']} on `{machine['hostname']}`: {machine['cpu_model']}, {machine['cores']} cores, "
        f"{machine['memory_gib']} GiB, Linux {machine['kernel']}; {machine['swift']}; {machine['postgres']}; "
        f"{machine['wrk']}. Mode `{settings['mode']}`: "
        "release build, PostgreSQL on loopback "
        f"({', '.join(f'{k}={v}' for k, v in settings['postgres'].items())}), database pool "
        f"{settings['database_pool']}, {fmt(settings['phase_seconds'], 0)} s per phase, wrk with one thread.",
    ]
    lines += tracing_section(results)
    lines += ["", "| phase | 2xx/s | p50 ms | p95 ms | p99 ms | CPU server / postgres / wrk | spans received |",
              "|---|---:|---:|---:|---:|---|---:|"]
    for phase in results["phases"]:
        load, cpu = phase["loads"][0], phase["cpu"]
        lines.append(
            f"| {phase['name']} | {fmt(load['ok_rps'])} | {fmt(load['p50_ms'], 2)} | {fmt(load['p95_ms'], 2)} | "
            f"{fmt(load['p99_ms'], 2)} | {cpu['server_cores']:.2f} / {cpu['postgres_cores']:.2f} / "
            f"{cpu['wrk_cores']:.2f} | {phase['tracing']['spans_received']:,} |"
        )
    lines += ["", "| target | measured | ratio | met |", "|---|---|---|---|"]
    for target in results["targets"]:
        lines.append(
            f"| {target['target']} | {target['measured']} | {target['ratio']} | {'yes' if target['met'] else '**no**'} |"
        )
    lines.append("")
    return "\n".join(lines)


def tracing_section(results: dict) -> list[str]:
    """Verification with tracing off, at 10% and at 100% sampling, per round and on average."""
    from bench import tracing_summary  # noqa: PLC0415

    summary = tracing_summary(results)
    if not summary:
        return []
    lines = [
        "",
        "## Tracing overhead (issue 16)",
        "",
        "`verify-16` again with OpenTelemetry tracing off, and exporting over OTLP/HTTP (protobuf) with the "
        "parent-based ratio sampler at 10% and at 100%. The receiver (`scripts/otlp-test-collector.py "
        "--count-only`, Python, decoding every export with `opentelemetry-proto`) runs on the same two cores, "
        "as the rest. Three rounds, the settings interleaved in each and their order rotated from round to round; "
        "every phase on fresh links (made by SQL in the shape registration writes), after a `VACUUM` and a "
        "`CHECKPOINT`, on a freshly started server. "
        "A sampled verification makes two spans (the request, its one statement); the others none.",
        "",
        "| sampling | 2xx/s per round | mean 2xx/s | vs off | p95 ms per round | server cores | spans received "
        "| exports |",
        "|---|---|---:|---:|---|---|---:|---:|",
    ]
    off = summary["off"]["mean_ok_rps"]
    for label, row in summary.items():
        ratio = row["mean_ok_rps"] / off if off else None
        lines.append(
            f"| {label} | {' / '.join(fmt(v, 0) for v in row['ok_rps'])} | {fmt(row['mean_ok_rps'], 0)} | "
            f"{'–' if ratio is None else f'{ratio:.1%}'} | {' / '.join(fmt(v, 2) for v in row['p95_ms'])} | "
            f"{' / '.join(f'{v:.2f}' for v in row['server_cores'])} | {row['spans']:,} | {row['exports']:,} |"
        )
    return lines


def chart(results: dict, path: Path) -> None:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    labels, p50, p95, p99, throughput = [], [], [], [], []
    for phase in results["phases"]:
        for load in phase["loads"]:
            suffix = f" ({load['endpoint']})" if len(phase["loads"]) > 1 else ""
            labels.append(phase["name"] + suffix)
            p50.append(load["p50_ms"])
            p95.append(load["p95_ms"])
            p99.append(load["p99_ms"])
            throughput.append(load["ok_rps"] if load["ok_rps"] is not None else load["rps"])
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(12, 8), sharex=True)
    positions = range(len(labels))
    width = 0.27
    top.bar([p - width for p in positions], p50, width, label="p50")
    top.bar(list(positions), p95, width, label="p95")
    top.bar([p + width for p in positions], p99, width, label="p99")
    top.axhline(500, color="red", linestyle="--", linewidth=1, label="500 ms budget")
    top.set_yscale("log")
    top.set_ylabel("latency (ms, log)")
    top.legend(loc="upper right", fontsize=8)
    top.set_title("Latency percentiles (wrk, client side) and successful throughput per phase")
    bottom.bar(list(positions), throughput, color="tab:green")
    bottom.set_yscale("log")
    bottom.set_ylabel("2xx responses / s (log)")
    for x, value in zip(positions, throughput):
        bottom.annotate(f"{value:,.0f}" if value >= 100 else f"{value:.1f}", (x, value), ha="center",
                        va="bottom", fontsize=7)
    bottom.set_xticks(list(positions))
    bottom.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
