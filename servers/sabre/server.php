<?php
// sabre/dav 1.8 (Debian php-sabre-dav) CalDAV server for caldav-conformance.
// Run by servers/up.sh sabre|sabre-digest under `php -S 127.0.0.1:PORT server.php`.
// Environment: CCF_SABRE_DB (SQLite file made by init.php), CCF_SABRE_AUTH (basic|digest).
error_reporting(E_ALL & ~E_DEPRECATED & ~E_USER_DEPRECATED & ~E_STRICT);
require_once 'Sabre/autoload.php';

const CCF_REALM = 'SabreDAV';

// Basic: an in-file user table (the digest variant uses Sabre's own PDO backend).
class CcfBasicAuth extends Sabre\DAV\Auth\Backend\AbstractBasic {
    private $users = ['user1' => 'pass1', 'user2' => 'pass2'];
    protected function validateUserPass($username, $password) {
        return isset($this->users[$username]) && hash_equals($this->users[$username], $password);
    }
}

$pdo = new PDO('sqlite:' . getenv('CCF_SABRE_DB'));
$pdo->setAttribute(PDO::ATTR_ERRMODE, PDO::ERRMODE_EXCEPTION);
$pdo->exec('PRAGMA busy_timeout = 5000');

if (getenv('CCF_SABRE_AUTH') === 'digest') {
    // Table `users(username, digesta1)`, digesta1 = md5("user:SabreDAV:password") (RFC 2617 HA1).
    $authBackend = new Sabre\DAV\Auth\Backend\PDO($pdo);
} else {
    $authBackend = new CcfBasicAuth();
}
$principalBackend = new Sabre\DAVACL\PrincipalBackend\PDO($pdo);
$calendarBackend = new Sabre\CalDAV\Backend\PDO($pdo);

$server = new Sabre\DAV\Server([
    new Sabre\CalDAV\Principal\Collection($principalBackend),
    new Sabre\CalDAV\CalendarRootNode($principalBackend, $calendarBackend),
]);
$server->setBaseUri('/');
$server->addPlugin(new Sabre\DAV\Auth\Plugin($authBackend, CCF_REALM));
$server->addPlugin(new Sabre\DAVACL\Plugin());
$server->addPlugin(new Sabre\CalDAV\Plugin());
$server->addPlugin(new Sabre\DAV\Browser\Plugin());
$server->exec();
