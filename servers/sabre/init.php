<?php
// Creates the SQLite database for servers/sabre/server.php: Debian's example schema for
// calendars, principals, locks and (digest) users, plus principals and users user1, user2.
// Usage: php init.php DB_FILE SQL_DIR
error_reporting(E_ALL & ~E_DEPRECATED);
[$_, $db, $sqlDir] = $argv;
$pdo = new PDO('sqlite:' . $db);
$pdo->setAttribute(PDO::ATTR_ERRMODE, PDO::ERRMODE_EXCEPTION);
foreach (['calendars', 'principals', 'locks', 'users'] as $part) {
    $file = "$sqlDir/sqlite.$part.sql";
    if (!is_readable($file)) {
        fwrite(STDERR, "missing $file\n");
        exit(1);
    }
    $pdo->exec(file_get_contents($file));
}
// The example SQL inserts a sample 'admin'; keep only our users.
$pdo->exec("DELETE FROM principals");
$pdo->exec("DELETE FROM users");
$addPrincipal = $pdo->prepare('INSERT INTO principals (uri, email, displayname) VALUES (?, ?, ?)');
$addUser = $pdo->prepare('INSERT INTO users (username, digesta1) VALUES (?, ?)');
foreach (['user1' => 'pass1', 'user2' => 'pass2'] as $user => $password) {
    $addPrincipal->execute(["principals/$user", "$user@example.com", ucfirst($user)]);
    $addPrincipal->execute(["principals/$user/calendar-proxy-read", null, null]);
    $addPrincipal->execute(["principals/$user/calendar-proxy-write", null, null]);
    $addUser->execute([$user, md5("$user:SabreDAV:$password")]);
}
