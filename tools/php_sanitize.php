<?php
// Reads a JSON list of hex-encoded byte strings on stdin; answers a JSON list of
// {"once": hex of sanitize_text_field(s), "twice": hex of sanitize_text_field(sanitize_text_field(s))}.
// Argument: the wp-includes folder of a WordPress (Debian: /usr/share/wordpress/wp-includes).
// WordPress is loaded with the least it needs: a UTF-8 blog charset and filters that change nothing.
function get_option($name) { return $name === 'blog_charset' ? 'UTF-8' : false; }
function wp_load_alloptions() { return array('blog_charset' => 'UTF-8'); }
function apply_filters($tag, $value) { return $value; }
$includes = $argv[1];
require $includes . '/formatting.php';
require $includes . '/kses.php';
$out = array();
foreach (json_decode(stream_get_contents(STDIN), true) as $hex) {
    $once = sanitize_text_field(hex2bin($hex));
    $out[] = array('once' => bin2hex($once), 'twice' => bin2hex(sanitize_text_field($once)));
}
echo json_encode($out);
