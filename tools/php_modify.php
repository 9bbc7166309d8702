<?php
// Reads a JSON list of cases on stdin, answers a JSON list on stdout.
// case: {"tz": "Europe/Berlin", "base": "2024-01-31 10:00:00" | "@1700000000", "modifiers": [...]}
// answer: {"base": ISO of the DateTime before modify, "result": ISO or null,
//          "error": null or the warning text, "failed_at": index of the modifier that failed}
$cases = json_decode(stream_get_contents(STDIN), true);
$out = [];
foreach ($cases as $c) {
    $tz = new DateTimeZone($c['tz']);
    if ($c['base'][0] === '@') {
        $d = new DateTime($c['base']);
        $d->setTimezone($tz);
    } else {
        $d = new DateTime($c['base'], $tz);
    }
    $row = ['base' => $d->format('Y-m-d\TH:i:sP'), 'result' => null, 'error' => null, 'failed_at' => null];
    $ok = true;
    foreach ($c['modifiers'] as $i => $m) {
        error_clear_last();
        try {
            $r = @$d->modify($m);
        } catch (Throwable $e) {
            $r = false;
            $row['error'] = get_class($e) . ': ' . $e->getMessage();
        }
        if ($r === false) {
            if ($row['error'] === null) {
                $last = error_get_last();
                $row['error'] = $last ? $last['message'] : 'modify() returned false';
            }
            $row['failed_at'] = $i;
            $ok = false;
            break;
        }
    }
    if ($ok) {
        $row['result'] = $d->format('Y-m-d\TH:i:sP');
    }
    $out[] = $row;
}
echo json_encode(['php_version' => PHP_VERSION, 'results' => $out], JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES), "\n";
