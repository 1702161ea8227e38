# A scripted SMTP server for the sidecar pod test, run by perl-base (the only Perl a minbase
# Debian image has: no MIME::Base64, so base64 is decoded here). It listens on the pod's loopback,
# greets, offers AUTH PLAIN in its EHLO reply, and accepts AUTH only with the password read from
# the mounted Secret at each attempt (a rotated Secret applies at once). It never prints a
# password: its log says who was accepted or refused, nothing more.
#
# Usage: perl smtp_peer.pl PORT PASSWORD_FILE
use strict;
use warnings;
use IO::Socket::INET;

$| = 1;
my ($port, $password_file) = @ARGV;
die "usage: smtp_peer.pl PORT PASSWORD_FILE\n" unless $port && $password_file;
my $listener = IO::Socket::INET->new(
  LocalAddr => '127.0.0.1', LocalPort => $port, Listen => 16, ReuseAddr => 1, Proto => 'tcp')
  or die "smtp-peer: listen on 127.0.0.1:$port: $!\n";
print "smtp-peer: listening on 127.0.0.1:$port\n";

# One session at a time, each bounded: a stuck client cannot hold the peer for longer.
while (1) {
  my $client = $listener->accept or next;
  my $done = eval {
    local $SIG{ALRM} = sub { die "deadline\n" };
    alarm 15;
    session($client);
    alarm 0;
    1;
  };
  alarm 0;
  print "smtp-peer: session ended early: $@" unless $done;
  close $client;
}

sub expected_password {
  open(my $fh, '<', $password_file) or return undef;
  local $/;
  my $password = <$fh>;
  close $fh;
  return $password;
}

sub read_line {
  my ($client) = @_;
  my $line = <$client>;
  return undef unless defined $line;
  $line =~ s/\r?\n\z//;
  return $line;
}

# RFC 4648 base64, six bits per character; whatever is not in the alphabet (padding) is dropped.
sub decode_base64 {
  my ($text) = @_;
  my $alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  $text =~ s{[^A-Za-z0-9+/]}{}g;
  my $bits = join '', map { sprintf '%06b', index($alphabet, $_) } split //, $text;
  my $bytes = '';
  for (my $i = 0; $i + 8 <= length $bits; $i += 8) {
    $bytes .= chr(oct('0b' . substr($bits, $i, 8)));
  }
  return $bytes;
}

sub check_plain {
  my ($client, $response) = @_;
  my (undef, $user, $password) = split /\0/, decode_base64($response // ''), 3;
  $user //= '';
  my $expected = expected_password();
  if (defined $password && defined $expected && length($expected) && $password eq $expected) {
    print "smtp-peer: AUTH PLAIN accepted for user '$user'\n";
    print $client "235 2.7.0 Authentication successful\r\n";
  } else {
    print "smtp-peer: AUTH PLAIN refused for user '$user'\n";
    print $client "535 5.7.8 Authentication credentials invalid\r\n";
  }
}

sub session {
  my ($client) = @_;
  $client->autoflush(1);
  print $client "220 peer.pod.test ESMTP scripted peer\r\n";
  while (defined(my $line = read_line($client))) {
    my ($verb, @args) = split / /, $line;
    $verb = uc($verb // '');
    if ($verb eq 'EHLO') {
      print $client "250-peer.pod.test\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n";
    } elsif ($verb eq 'HELO') {
      print $client "250 peer.pod.test\r\n";
    } elsif ($verb eq 'AUTH') {
      if (uc($args[0] // '') ne 'PLAIN') {
        print $client "504 5.5.4 Unrecognized authentication type\r\n";
        next;
      }
      my $response = $args[1];
      if (!defined $response) {
        print $client "334 \r\n";
        $response = read_line($client);
        return unless defined $response;
      }
      $response = '' if $response eq '=';
      check_plain($client, $response);
    } elsif ($verb eq 'NOOP' || $verb eq 'RSET') {
      print $client "250 2.0.0 OK\r\n";
    } elsif ($verb eq 'QUIT') {
      print $client "221 2.0.0 Bye\r\n";
      return;
    } else {
      print $client "502 5.5.2 Command not implemented\r\n";
    }
  }
}
