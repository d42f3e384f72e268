"""User-facing lab messages, English and Japanese (data kept next to the lab, one place)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "not_root": (
        "the lab needs root (network namespaces and netfilter); run it with sudo",
        "ラボにはroot権限が必要です（ネットワーク名前空間とnetfilterを使用）。sudoで実行してください",
    ),
    "missing_tool": ("required tool not found: {tool}", "必要なツールが見つかりません: {tool}"),
    "no_lab": (
        "no lab with run id {run_id!r} (start one with 'segverify lab up')",
        "実行ID {run_id!r} のラボがありません（'segverify lab up' で起動してください）",
    ),
    "exists": (
        "a lab with run id {run_id!r} is already up (use 'segverify lab down --run-id {run_id}')",
        "実行ID {run_id!r} のラボは既に起動しています（'segverify lab down --run-id {run_id}' で停止）",
    ),
    "bad_run_id": (
        "run id must be 1-12 lowercase letters or digits: {run_id!r}",
        "実行IDは英小文字・数字1〜12文字です: {run_id!r}",
    ),
    "command_failed": ("command failed: {cmd}: {err}", "コマンドが失敗しました: {cmd}: {err}"),
    "up_done": (
        "lab {run_id} up: {hosts} hosts, firewall {fw} with {ifaces} interfaces, ruleset {ruleset}",
        "ラボ {run_id} 起動: ホスト {hosts} 台、FW {fw}（インタフェース {ifaces}）、ルールセット {ruleset}",
    ),
    "down_done": ("removed {count} namespace(s)", "名前空間を {count} 個削除しました"),
    "run_done": (
        "{flows} flows attempted, {passed} let through, {forbidden} forbidden by policy, "
        "{violations} violation(s) let through; capture {capture}",
        "試行フロー {flows}、通過 {passed}、ポリシー上禁止 {forbidden}、通過した違反 {violations}; キャプチャ {capture}",
    ),
    "tcpdump_failed": ("tcpdump did not start: {err}", "tcpdumpが起動しませんでした: {err}"),
    "ruleset_loaded": (
        "ruleset loaded: {path} ({vendor})",
        "ルールセットを読み込みました: {path}（{vendor}）",
    ),
    "no_ruleset": ("none (forwarding everything)", "なし（全転送）"),
    "diff_same": ("no difference", "差分なし"),
    "w_firewall": ("firewall", "ファイアウォール"),
    "w_collapsed": ("collapsed", "統合"),
    "w_hosts": ("hosts", "ホスト"),
    "w_skipped": ("skipped", "除外"),
    "w_allowed": ("allowed", "許可"),
    "w_forbidden": ("FORBIDDEN", "禁止"),
    "w_passed": ("passed", "通過"),
    "w_blocked": ("blocked", "遮断"),
    "w_policy": ("policy", "ポリシー"),
    "w_violation": ("<-- violation", "<-- 違反"),
    "w_new_violation": ("NEW VIOLATION", "新たな違反"),
    "w_fixed": ("violation fixed", "違反解消"),
}


def msg(key: str, lang: str = "en", **params: object) -> str:
    en, ja = MESSAGES[key]
    return (ja if lang == "ja" else en).format(**params)
